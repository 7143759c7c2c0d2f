import { existsSync, readFileSync } from 'node:fs';
import { SECRET_VARIABLES } from './gateway-config.js';

/**
 * The process environment with each secret's `NAME_FILE` resolved (Docker and Kubernetes secrets
 * are mounted as files). Returns problems instead of throwing so start-up lists them all at once.
 */
export function readEnvironment(source: NodeJS.ProcessEnv): {
  environment: Record<string, string | undefined>;
  problems: string[];
} {
  const environment: Record<string, string | undefined> = { ...source };
  const problems: string[] = [];
  for (const name of SECRET_VARIABLES) {
    const file = source[`${name}_FILE`];
    if (!file) continue;
    if (source[name]) {
      problems.push(`${name}: set either ${name} or ${name}_FILE, not both`);
      continue;
    }
    try {
      environment[name] = readFileSync(file, 'utf8').trim();
    } catch {
      problems.push(`${name}_FILE: cannot read the file it names`);
    }
  }
  return { environment, problems };
}

/**
 * Development convenience: a `.env` in the working directory fills variables of `process.env`
 * not already set, before loadConfig reads it.
 */
export function loadDotEnvForDevelopment(source: NodeJS.ProcessEnv = process.env): boolean {
  if (source.NODE_ENV === 'production' || !existsSync('.env')) return false;
  process.loadEnvFile('.env');
  return true;
}
