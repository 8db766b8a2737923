// The OpenWire load driver: ActiveMQ's own JMS client, so Junction and the ActiveMQ anchor are
// measured with the same code. `java OpenWireBench <url> <queue|topic>:<name> <seconds> <bodyBytes>
// <sync|async> <consumers> [user pass]`: one producer sending persistent BytesMessages as fast as
// the send mode lets it for <seconds>, N consumers (AUTO_ACKNOWLEDGE listeners, one connection each)
// on the destination. Prints one JSON line: sent/s, delivered/s over all consumers, and the
// latency from send to delivery (p50, p99, in ms).
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;

public class OpenWireBench {
  public static void main(String[] a) throws Exception {
    String url = a[0];
    String spec = a[1];
    int seconds = Integer.parseInt(a[2]);
    int size = Integer.parseInt(a[3]);
    boolean async = a[4].equals("async");
    int consumers = Integer.parseInt(a[5]);
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(url);
    if (a.length > 7) {
      f.setUserName(a[6]);
      f.setPassword(a[7]);
    }
    f.setUseAsyncSend(async);
    f.setWatchTopicAdvisories(false);
    boolean topic = spec.startsWith("topic:");
    String name = spec.substring(spec.indexOf(':') + 1);
    int cap = 4_000_000;
    long[] latencies = new long[cap];
    AtomicLong delivered = new AtomicLong();
    Connection[] conns = new Connection[consumers];
    CountDownLatch subscribed = new CountDownLatch(consumers);
    for (int i = 0; i < consumers; i++) {
      Connection c = f.createConnection();
      c.start();
      conns[i] = c;
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Destination d = topic ? s.createTopic(name) : s.createQueue(name);
      s.createConsumer(d).setMessageListener(m -> {
        try {
          long n = delivered.getAndIncrement();
          if (n < cap) latencies[(int) n] = System.nanoTime() - m.getLongProperty("t");
        } catch (JMSException e) {
          throw new RuntimeException(e);
        }
      });
      subscribed.countDown();
    }
    subscribed.await();
    Connection pc = f.createConnection();
    pc.start();
    Session ps = pc.createSession(false, Session.AUTO_ACKNOWLEDGE);
    MessageProducer p = ps.createProducer(topic ? ps.createTopic(name) : ps.createQueue(name));
    p.setDeliveryMode(DeliveryMode.PERSISTENT);
    byte[] body = new byte[size];
    Arrays.fill(body, (byte) 'o');
    Thread.sleep(300);
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    long sent = 0;
    long startDelivered = delivered.get();
    while (System.nanoTime() < end) {
      BytesMessage m = ps.createBytesMessage();
      m.writeBytes(body);
      m.setLongProperty("t", System.nanoTime());
      p.send(m);
      sent++;
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    long got = delivered.get() - startDelivered;
    int n = (int) Math.min(delivered.get(), cap);
    long[] l = Arrays.copyOf(latencies, n);
    Arrays.sort(l);
    double p50 = n == 0 ? -1 : l[n / 2] / 1e6;
    double p99 = n == 0 ? -1 : l[Math.min(n - 1, (int) (n * 0.99))] / 1e6;
    System.out.printf(
        "{\"sentPerSec\":%.0f,\"deliveredPerSec\":%.0f,\"p50Ms\":%.2f,\"p99Ms\":%.2f}%n", sent / elapsed, got / elapsed, p50, p99);
    pc.close();
    for (Connection c : conns) c.close();
    System.exit(0);
  }
}
