# syntax=docker/dockerfile:1
# Build: compile TypeScript and install production dependencies (argon2 builds natively here).
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Run: only what the provider needs, as an unprivileged user, configured by environment variables.
FROM node:24-bookworm-slim
# Two libuv threads: argon2id runs there, one 19 MiB block per thread stays allocated after it,
# and two hashes at a time keep a one-core process busy (plan one process per core).
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0 UV_THREADPOOL_SIZE=2
# V8's young generation grows to 16 MiB semi-spaces under load and stays there when idle: capped
# at 4 MiB, an idle process is ~18 MiB smaller (bench/RESULTS.md); no throughput cost showed
# above the bench machine's noise.
ENV NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY views ./views
COPY certs ./certs
RUN useradd --system --uid 10001 --home-dir /app unified-id && mkdir -p /app/data && chown unified-id /app/data
USER unified-id
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/unified-id.js"]
CMD ["serve"]
