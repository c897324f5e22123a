// A throwaway PostgreSQL server for tests: Debian's binaries (`pg_config --bindir`, else
// /usr/lib/postgresql/*/bin), a cluster in a temp folder owned by the `postgres` user (initdb refuses root),
// listening on a free port of 127.0.0.1 (the package's own cluster may hold 5432), trust auth, no fsync.
// One server per test file; each test gets its own database.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  readonly port: number;
  /** A fresh empty database; returns its connection URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (immediate) and removes its folder; safe to call twice. */
  stop(): Promise<void>;
}

/** Where initdb, pg_ctl and postgres are, or undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  const hasServer = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  let fromPgConfig: string | undefined;
  try {
    fromPgConfig = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
  if (hasServer(fromPgConfig)) return fromPgConfig;
  // libpq-dev's pg_config answers /usr/bin, where Debian keeps only wrappers; the server lives per version.
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => join(root, v, 'bin')).find(hasServer);
}

/** Why the PostgreSQL tests skip here, or false when they run. */
export function postgresMissing(): string | false {
  return postgresBinDir() === undefined
    ? 'PostgreSQL is not installed (pg_config not found, or no initdb beside it): apt-get install postgresql'
    : false;
}

const asRoot = process.getuid?.() === 0;

/** Runs a server binary as the `postgres` user when we are root, as ourselves otherwise. */
function runAsPostgres(binDir: string, tool: string, args: readonly string[]): void {
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(binDir, tool), ...args]] : [join(binDir, tool), [...args]];
  const result = spawnSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(`${tool} ${args.join(' ')} exited with ${result.status ?? result.signal}:\n${result.stdout}${result.stderr}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startPostgres(): Promise<PostgresServer> {
  const binDir = postgresBinDir();
  if (binDir === undefined) throw new Error(postgresMissing() || 'PostgreSQL missing');
  const root = mkdtempSync(join(tmpdir(), 'kandinsky-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  if (asRoot) {
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(root, Number(ids), Number(gid));
  }
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      try {
        runAsPostgres(binDir, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']);
      } catch {
        // Already gone: the folder is removed all the same.
      }
    }
    rmSync(root, { recursive: true, force: true });
  };
  // A test process that dies without running its hooks still takes its server down.
  process.once('exit', stopNow);
  try {
    runAsPostgres(binDir, 'initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    const port = await freePort();
    const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    runAsPostgres(binDir, 'pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', options]);
    let databases = 0;
    return {
      port,
      async createDatabase() {
        const name = `test_${process.pid}_${++databases}`;
        const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
        await admin.connect();
        try {
          await admin.query(`CREATE DATABASE ${name}`);
        } finally {
          await admin.end();
        }
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      },
      async stop() {
        process.removeListener('exit', stopNow);
        stopNow();
      },
    };
  } catch (error) {
    stopNow();
    throw error;
  }
}
