# Junction as a container: the broker compiled to JavaScript (npm run build) and run with plain node.
# docker-compose.yml runs two of these as an active/standby pair on one Redis.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No prepare step yet: the sources it builds come below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts scripts
COPY src src
COPY adapters adapters
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config config
USER node
EXPOSE 1883 8883 5672 5671 61613 61614 61619 4566 4567 8161
# A larger young generation: per-message objects die young instead of being promoted (as npm start).
CMD ["node", "--max-semi-space-size=64", "dist/src/cli.js", "start"]
