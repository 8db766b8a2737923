// The SQS operations of dead-letter queue redrive (StartMessageMoveTask, ListMessageMoveTasks,
// CancelMessageMoveTask), written from the SQS API reference: botocore's model in Debian (the
// generator's source) predates them. Merged into the generated model by the SQS service.
import type { ServiceModel } from './shape.ts';

type Part = Pick<ServiceModel, 'operations' | 'shapes'>;

export const sqsMoveTaskModel: Part = {
  operations: {
    StartMessageMoveTask: { input: 'StartMessageMoveTaskRequest', output: 'StartMessageMoveTaskResult', resultWrapper: 'StartMessageMoveTaskResult' },
    ListMessageMoveTasks: { input: 'ListMessageMoveTasksRequest', output: 'ListMessageMoveTasksResult', resultWrapper: 'ListMessageMoveTasksResult' },
    CancelMessageMoveTask: { input: 'CancelMessageMoveTaskRequest', output: 'CancelMessageMoveTaskResult', resultWrapper: 'CancelMessageMoveTaskResult' },
  },
  shapes: {
    StartMessageMoveTaskRequest: {
      type: 'structure',
      members: { SourceArn: { shape: 'String' }, DestinationArn: { shape: 'String' }, MaxNumberOfMessagesPerSecond: { shape: 'NullableInteger' } },
      required: ['SourceArn'],
    },
    StartMessageMoveTaskResult: { type: 'structure', members: { TaskHandle: { shape: 'String' } } },
    ListMessageMoveTasksRequest: { type: 'structure', members: { SourceArn: { shape: 'String' }, MaxResults: { shape: 'NullableInteger' } }, required: ['SourceArn'] },
    ListMessageMoveTasksResult: { type: 'structure', members: { Results: { shape: 'ListMessageMoveTasksResultEntryList' } } },
    ListMessageMoveTasksResultEntryList: { type: 'list', member: { shape: 'ListMessageMoveTasksResultEntry', locationName: 'ListMessageMoveTasksResultEntry' }, flattened: true },
    ListMessageMoveTasksResultEntry: {
      type: 'structure',
      members: {
        TaskHandle: { shape: 'String' },
        Status: { shape: 'String' },
        SourceArn: { shape: 'String' },
        DestinationArn: { shape: 'String' },
        MaxNumberOfMessagesPerSecond: { shape: 'NullableInteger' },
        ApproximateNumberOfMessagesMoved: { shape: 'Long' },
        ApproximateNumberOfMessagesToMove: { shape: 'NullableLong' },
        FailureReason: { shape: 'String' },
        StartedTimestamp: { shape: 'Long' },
      },
    },
    CancelMessageMoveTaskRequest: { type: 'structure', members: { TaskHandle: { shape: 'String' } }, required: ['TaskHandle'] },
    CancelMessageMoveTaskResult: { type: 'structure', members: { ApproximateNumberOfMessagesMoved: { shape: 'Long' } } },
    NullableInteger: { type: 'integer' },
    NullableLong: { type: 'long' },
    Long: { type: 'long' },
  },
};
