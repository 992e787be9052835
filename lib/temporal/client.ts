import { readFile } from 'node:fs/promises';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { Config } from '../config';

type TemporalConfig = Config['temporal'] & { address: string };

async function tlsOptions(t: TemporalConfig) {
  if (!t.tls) return undefined;
  if (t.tlsCertPath && t.tlsKeyPath) {
    return { clientCertPair: { crt: await readFile(t.tlsCertPath), key: await readFile(t.tlsKeyPath) } };
  }
  return true as const;
}

/**
 * A Temporal client for the API and scripts: a local dev server, a self-hosted cluster or Temporal Cloud. Its
 * tracing interceptor carries the caller's span into the workflow, so one trace runs from HTTP to each activity.
 */
export async function createTemporalClient(t: TemporalConfig): Promise<Client> {
  const options: ConnectionOptions = { address: t.address, tls: await tlsOptions(t), connectTimeout: 10_000 };
  if (t.apiKey) options.apiKey = t.apiKey;
  const connection = await Connection.connect(options);
  return createClient(connection, t.namespace);
}

export function createClient(connection: Connection, namespace: string): Client {
  return new Client({
    connection,
    namespace,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
}

/** The worker's connection (native, Rust core); same settings as the client. */
export async function createWorkerConnection(t: TemporalConfig): Promise<NativeConnection> {
  const options: NativeConnectionOptions = { address: t.address, tls: await tlsOptions(t) };
  if (t.apiKey) options.apiKey = t.apiKey;
  return NativeConnection.connect(options);
}
