import { ConfigurationError, parseGatewayConfig, type GatewayConfig } from './gateway-config.js';
import { readEnvironment } from './read-environment.js';

/**
 * Reads `process.env` (config/ is the only code that does, DESIGN §7): resolves `_FILE` secrets,
 * validates, lists every problem. Everything else gets the typed GatewayConfig.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const { environment, problems } = readEnvironment(source);
  let config: GatewayConfig | undefined;
  try {
    config = parseGatewayConfig(environment);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0 || !config) throw new ConfigurationError(problems);
  return config;
}
