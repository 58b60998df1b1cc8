import { startServer } from '../app/server.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../ops/logger.js';
import { cliEnv, outsideRun } from './io.js';

/** `npm start`: run until SIGTERM/SIGINT, then drain requests in flight and close the database. */
export async function runServe() {
  const config = loadConfig(cliEnv());
  const logger = createLogger(config.logLevel);
  const running = await outsideRun(() => startServer(config, { logger }));
  logger.info({ issuer: config.issuer, port: config.port }, 'Unified ID is listening');
  // Loaded here, not at the top: it loads koffi's native part, which no other command needs.
  const { trimWhenIdle } = await import('../ops/memory-trim.js');
  trimWhenIdle(running.server);
  const lines = [
    '',
    `  统一身份认证 (Unified ID) is running: ${config.issuer}`,
    `  discovery:  ${config.issuer}/.well-known/openid-configuration`,
  ];
  if (running.demoClient) {
    lines.push(
      `  demo site:  ${config.issuer}/dev/rp/`,
      `  demo client_id:     ${running.demoClient.clientId}`,
      `  demo client_secret: ${running.demoClient.clientSecret}`,
      '  create an account:  npx unified-id accounts add --phone 13800138000 --password <password>  (with the server stopped, or on PostgreSQL)',
    );
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'stopping');
    running.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
