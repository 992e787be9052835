import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configSchema, loadConfig } from '../lib/config';
import {
  acquireComposeCheck,
  acquireKustomize,
  composeCheck,
  fieldProblems,
  type K8sObject,
  kustomizeBuild,
  parseManifests,
  readEnvFile,
  schemaProblems,
} from './deployment-tools';

/**
 * The deployment files, validated offline (issue 22): infra/k8s rendered by the real kustomize and every object checked
 * against the Kubernetes schemas (kubernetes-models) and for unknown fields, then for the consistency a schema cannot
 * see (selectors, named ports, configuration variables, the Secret's keys, shutdown windows, Pod Security); and
 * temporal.docker-compose.yml loaded by compose-go (infra/compose-check), then its start order and mounts checked.
 * kustomize and compose-check are built with Go once per machine (test/deployment-tools.ts); minutes the first time.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const k8sDir = join(root, 'infra', 'k8s');
const composeFile = join(root, 'temporal.docker-compose.yml');
const infraReadme = readFileSync(join(root, 'infra', 'README.md'), 'utf8');
const log = (line: string) => console.log(`[deployment files] ${line}`);

// Both builds start at once (they share the Go module cache); each describe waits for its own.
const kustomizeBin = acquireKustomize(process.env, log);
const composeCheckBin = acquireComposeCheck(process.env, log);
kustomizeBin.catch(() => {});
composeCheckBin.catch(() => {});
const ACQUIRE_TIMEOUT = 900_000;

type Labels = Record<string, string>;
interface Port {
  name?: string;
  containerPort: number;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  ports?: Port[];
  env?: Array<{ name: string; value?: string }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
    runAsNonRoot?: boolean;
    seccompProfile?: { type: string };
  };
  volumeMounts?: Array<{ name: string; mountPath?: string }>;
}
interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  topologySpreadConstraints?: Array<{ labelSelector: { matchLabels: Labels } }>;
  containers: Container[];
  volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>;
}
interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector?: { matchLabels: Labels };
    template: { metadata: { labels: Labels }; spec: PodSpec };
  };
}

const selects = (selector: Labels, labels: Labels) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v) && Object.keys(selector).length > 0;
const podsOf = (objects: K8sObject[]) =>
  objects.filter((o): o is Workload => o.kind === 'Deployment' || o.kind === 'Job');
const named = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const configKnows = (name: string) => Object.hasOwn(configSchema.shape, name);

/** The kustomization plus the migrate Job, rendered the way infra/README.md ("Deploy by hand") and the pipeline do. */
async function buildWithMigrateJob(bin: string): Promise<K8sObject[]> {
  const overlay = await mkdtemp(join(tmpdir(), 'bc-k8s-migrate-'));
  try {
    await cp(join(k8sDir, 'migrate-job.yaml'), join(overlay, 'migrate-job.yaml'));
    await writeFile(
      join(overlay, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'namespace: beyondcloud',
        `resources: [${relative(overlay, k8sDir)}, migrate-job.yaml]`,
        'images: [{name: beyondcloud, newName: registry.example.invalid/beyondcloud, newTag: "1"}]',
        '',
      ].join('\n'),
    );
    return await kustomizeBuild(bin, overlay);
  } finally {
    await rm(overlay, { recursive: true, force: true });
  }
}

describe('Kubernetes manifests (infra/k8s)', () => {
  let kustomize: string;
  let rendered: K8sObject[]; // kustomize build infra/k8s
  let withJob: K8sObject[]; // the same plus the migrate Job, image pinned
  let secretExample: K8sObject;
  let configMapData: Record<string, string>;

  beforeAll(async () => {
    kustomize = await kustomizeBin;
    [rendered, withJob] = await Promise.all([kustomizeBuild(kustomize, k8sDir), buildWithMigrateJob(kustomize)]);
    secretExample = parseManifests(readFileSync(join(k8sDir, 'secret.example.yaml'), 'utf8'))[0]!;
    configMapData = (named(rendered, 'ConfigMap')[0]?.data ?? {}) as Record<string, string>;
  }, ACQUIRE_TIMEOUT);

  it('the kustomization lists every manifest but the Secret example and the migrate Job, and reads config.env', () => {
    const kustomization = parseYaml(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')) as {
      namespace: string;
      resources: string[];
      configMapGenerator: Array<{ name: string; envs: string[] }>;
    };
    for (const file of kustomization.resources) expect(existsSync(join(k8sDir, file)), file).toBe(true);
    const manifests = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(
      manifests.filter((f) => f !== 'secret.example.yaml' && f !== 'migrate-job.yaml').sort(),
    );
    expect(kustomization.configMapGenerator).toEqual([{ name: 'beyondcloud-config', envs: ['config.env'] }]);

    // What kustomize made of it: one hashed ConfigMap with config.env's variables, referenced by every pod.
    const [configMap, ...more] = named(rendered, 'ConfigMap');
    expect(more).toEqual([]);
    expect(configMap!.metadata.name).toMatch(/^beyondcloud-config-[a-z0-9]{10}$/);
    expect(
      podsOf(withJob).flatMap((w) =>
        w.spec.template.spec.containers.flatMap((c) => (c.envFrom ?? []).flatMap((e) => e.configMapRef?.name ?? [])),
      ),
    ).toEqual(Array(4).fill(configMap!.metadata.name));
    expect(named(withJob, 'Job').map((j) => j.metadata.name)).toEqual(['beyondcloud-migrate']);
    for (const w of podsOf(withJob))
      expect(w.spec.template.spec.containers.map((c) => c.image)).toEqual(['registry.example.invalid/beyondcloud:1']);

    // Namespace and labels: everything in the namespace the Namespace object creates, part-of on every object.
    expect(named(rendered, 'Namespace').map((n) => n.metadata.name)).toEqual([kustomization.namespace]);
    for (const o of withJob) {
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('beyondcloud');
      expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind}/${o.metadata.name}`).toBe('beyondcloud');
    }
    expect(secretExample.metadata.namespace).toBe(kustomization.namespace);
  });

  it('the API and the main workers share one ReadWriteMany volume at BLOB_DIR (uploads written there are ingested)', () => {
    const [configMap] = named(rendered, 'ConfigMap') as Array<K8sObject & { data: Record<string, string> }>;
    const blobDir = configMap!.data.BLOB_DIR;
    expect(blobDir).toMatch(/^\//);
    const claims = named(rendered, 'PersistentVolumeClaim') as Array<K8sObject & { spec: { accessModes: string[] } }>;
    expect(claims.map((c) => [c.metadata.name, c.spec.accessModes])).toEqual([
      ['beyondcloud-blobs', ['ReadWriteMany']],
    ]);
    for (const name of ['beyondcloud-api', 'beyondcloud-worker']) {
      const pod = (named(rendered, 'Deployment') as Workload[]).find((d) => d.metadata.name === name)!.spec.template
        .spec;
      const volume = pod.volumes?.find((v) => v.persistentVolumeClaim?.claimName === 'beyondcloud-blobs');
      expect(volume, name).toBeDefined();
      expect(pod.containers[0]!.volumeMounts?.find((m) => m.name === volume!.name)?.mountPath, name).toBe(blobDir);
    }
  });

  it('every object is valid against the Kubernetes schemas and has no unknown field', async () => {
    const objects = [...withJob, secretExample];
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'Deployment',
        'Deployment',
        'Job',
        'Namespace',
        'PersistentVolumeClaim',
        'PodDisruptionBudget',
        'PodDisruptionBudget',
        'PodDisruptionBudget',
        'Secret',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    expect(await schemaProblems(objects)).toEqual([]);
    expect(fieldProblems(objects)).toEqual([]);
  });

  it('the validators reject a broken manifest: a wrong field type, a misspelled field', async () => {
    const deployment = structuredClone(named(rendered, 'Deployment')[0]!) as Workload;
    (deployment.spec as Record<string, unknown>).replicas = 'two';
    expect(await schemaProblems([deployment])).toEqual([
      'Deployment/beyondcloud-api: data/spec/replicas must be integer',
    ]);
    const misspelled = structuredClone(named(rendered, 'Deployment')[0]!) as Workload;
    const container = misspelled.spec.template.spec.containers[0] as unknown as Record<string, unknown>;
    container.readinesProbe = container.readinessProbe;
    expect(await schemaProblems([misspelled])).toEqual([]); // the schemas allow unknown fields; the API server does not
    expect(fieldProblems([misspelled])).toEqual([
      expect.stringMatching(
        /^Deployment\/beyondcloud-api: spec\.template\.spec\.containers\[0\]\.readinesProbe: .*does not exist in type 'IContainer'/,
      ),
    ]);
    await expect(
      schemaProblems([{ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } }]),
    ).resolves.toEqual(['Deploymnet/x: no schema for apps/v1 Deploymnet']);
  });

  it('config.env sets only variables lib/config knows, with values it accepts', async () => {
    const commented = await readEnvFile(join(k8sDir, 'config.env'), true);
    expect(Object.keys(configMapData).length).toBeGreaterThan(5);
    expect([...Object.keys(configMapData), ...commented.keys()].filter((v) => !configKnows(v))).toEqual([]);
    // Left out on purpose (infra/README.md, "Configuration"): only `npm start`'s embedded stack reads them; the image
    // sets WORKER_WORKFLOW_BUNDLE and the api Deployment API_HOST.
    const omitted = ['BC_DATA_DIR', 'TEMPORAL_CLI_PATH', 'TEMPORAL_CLI_CACHE_DIR', 'TEMPORAL_DEV_PORT'];
    omitted.push('TEMPORAL_UI_PORT', 'PGLITE_PORT', 'WORKER_WORKFLOW_BUNDLE', 'API_HOST');
    expect(Object.keys(configMapData).filter((v) => omitted.includes(v))).toEqual([]);
    expect(readFileSync(join(root, 'infra', 'docker', 'Dockerfile'), 'utf8')).toMatch(
      /WORKER_WORKFLOW_BUNDLE=\/app\/dist\/workflow-bundle\.js/,
    );

    // Each pod's whole environment (ConfigMap, real-shaped Secret values, its own env) passes lib/config, also with
    // the commented-out examples switched on.
    const secrets = {
      DATABASE_URL: 'postgres://beyondcloud:password@postgres.example.invalid:5432/beyondcloud',
      BOOTSTRAP_ADMIN_KEY: `bc_${'A'.repeat(43)}`,
      TENANT_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
    };
    for (const w of podsOf(withJob)) {
      for (const c of w.spec.template.spec.containers) {
        const own = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? '']));
        expect(
          Object.keys(own).filter((v) => !configKnows(v)),
          `${w.metadata.name} env`,
        ).toEqual([]);
        for (const extra of [{}, Object.fromEntries(commented)]) {
          const config = loadConfig({ ...configMapData, ...extra, ...secrets, ...own });
          expect(config.env).toBe('production');
        }
      }
    }
  });

  it('the Secret example has exactly the keys infra/README.md documents, all known to lib/config', () => {
    expect(secretExample.metadata.name).toBe('beyondcloud-secrets');
    const section = infraReadme.slice(infraReadme.indexOf('**The Secret `beyondcloud-secrets`**'));
    const table = section.slice(0, section.indexOf('```'));
    const documented = [...table.matchAll(/^\s*\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    const keys = Object.keys(secretExample.stringData as Record<string, string>);
    expect(keys.sort()).toEqual([...documented].sort());
    expect(keys.filter((k) => !configKnows(k))).toEqual([]);
    // Every pod reads it by that name.
    for (const w of podsOf(withJob))
      for (const c of w.spec.template.spec.containers)
        expect(c.envFrom?.flatMap((e) => e.secretRef?.name ?? [])).toEqual(['beyondcloud-secrets']);
    // The other places that name its keys: config.env's header and its own `kubectl create secret` example.
    const header = /# Secrets \(([^)]*)\) live in the Secret/.exec(readFileSync(join(k8sDir, 'config.env'), 'utf8'));
    expect(header?.[1]?.split(', ').sort()).toEqual(keys);
    const literals = readFileSync(join(k8sDir, 'secret.example.yaml'), 'utf8').matchAll(/--from-literal=([A-Z_]+)=/g);
    expect([...literals].map((m) => m[1]).sort()).toEqual(keys);
    // Its header: applied unchanged, the placeholders stop the processes at start (lib/config refuses them).
    expect(() => loadConfig({ ...configMapData, ...(secretExample.stringData as Record<string, string>) })).toThrow(
      /BOOTSTRAP_ADMIN_KEY/,
    );
  });

  it('selectors, Services, probes and mounts refer to things that exist', () => {
    const deployments = podsOf(rendered);
    const serviceAccounts = named(rendered, 'ServiceAccount').map((s) => s.metadata.name);
    for (const w of podsOf(withJob)) {
      const id = `${w.kind}/${w.metadata.name}`;
      const pod = w.spec.template.spec;
      const labels = w.spec.template.metadata.labels;
      if (w.spec.selector) expect(selects(w.spec.selector.matchLabels, labels), `${id} selector`).toBe(true);
      for (const t of pod.topologySpreadConstraints ?? [])
        expect(selects(t.labelSelector.matchLabels, labels), `${id} topologySpreadConstraints`).toBe(true);
      expect(serviceAccounts, id).toContain(pod.serviceAccountName);
      const volumes = (pod.volumes ?? []).map((v) => v.name);
      for (const c of pod.containers) {
        const ports = (c.ports ?? []).map((p) => p.name);
        for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
          const port = probe?.httpGet?.port;
          if (typeof port === 'string') expect(ports, `${id} probe port ${port}`).toContain(port);
          else if (port !== undefined)
            expect(
              c.ports?.map((p) => p.containerPort),
              `${id}`,
            ).toContain(port);
        }
        for (const m of c.volumeMounts ?? []) expect(volumes, `${id} volumeMount ${m.name}`).toContain(m.name);
        // The port the process listens on (lib/config) is the one the container declares.
        const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
        if (env.WORKER_HEALTH_PORT)
          expect(c.ports?.find((p) => p.name === 'health')?.containerPort).toBe(Number(env.WORKER_HEALTH_PORT));
        if (c.name === 'api')
          expect(c.ports?.find((p) => p.name === 'http')?.containerPort).toBe(Number(configMapData.API_PORT));
      }
    }
    // No Deployment's selector picks another Deployment's pods (a rollout would fight over them).
    for (const a of deployments)
      for (const b of deployments)
        if (a !== b)
          expect(selects(a.spec.selector!.matchLabels, b.spec.template.metadata.labels), `${a.metadata.name}`).toBe(
            false,
          );

    // A Service selects a Deployment's pods, and its named targetPort is declared by their containers.
    const services = named(rendered, 'Service') as Array<
      K8sObject & { spec: { selector: Labels; ports: Array<{ targetPort: string | number }> } }
    >;
    expect(services.length).toBeGreaterThan(0);
    for (const s of services) {
      const backends = deployments.filter((d) => selects(s.spec.selector, d.spec.template.metadata.labels));
      expect(
        backends.map((d) => d.metadata.name),
        `Service/${s.metadata.name}`,
      ).toEqual(['beyondcloud-api']);
      const ports = backends[0]!.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
      for (const p of s.spec.ports)
        expect(
          ports.some((q) => q.name === p.targetPort || q.containerPort === p.targetPort),
          `Service/${s.metadata.name} targetPort ${p.targetPort}`,
        ).toBe(true);
    }

    // One PodDisruptionBudget per Deployment, below its replicas (else a drain could never evict).
    const pdbs = named(rendered, 'PodDisruptionBudget') as Array<
      K8sObject & { spec: { minAvailable: number; selector: { matchLabels: Labels } } }
    >;
    expect(pdbs).toHaveLength(deployments.length);
    for (const pdb of pdbs) {
      const matched = deployments.filter((d) =>
        selects(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels),
      );
      expect(matched, `PodDisruptionBudget/${pdb.metadata.name}`).toHaveLength(1);
      expect(pdb.spec.minAvailable).toBeLessThan(matched[0]!.spec.replicas ?? 1);
    }
  });

  it('the deploy steps select the objects by component label as the pipeline applies them', () => {
    // azure-pipelines.yml (and infra/README.md, "Deploy by hand"): first the objects without a component label, then
    // component=migrate (the Job), then the rest; the namespace it deploys to is the kustomization's.
    const pipeline = readFileSync(join(root, 'azure-pipelines.yml'), 'utf8');
    expect(pipeline).toContain(`--selector '!app.kubernetes.io/component'`);
    expect(pipeline).toContain('--selector app.kubernetes.io/component=migrate');
    expect(/^\s*k8sNamespace: (\S+)$/m.exec(pipeline)?.[1]).toBe('beyondcloud');
    const component = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'];
    const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    expect(withJob.filter((o) => !component(o)).map(id)).toEqual([
      'Namespace/beyondcloud',
      'ServiceAccount/beyondcloud',
      expect.stringMatching(/^ConfigMap\/beyondcloud-config-/),
      // The blob volume's claim exists before any pod that mounts it.
      'PersistentVolumeClaim/beyondcloud-blobs',
    ]);
    expect(withJob.filter((o) => component(o) === 'migrate').map(id)).toEqual(['Job/beyondcloud-migrate']);
    // A workload's pods carry its component, so `kubectl logs --selector` and the PodDisruptionBudgets find them.
    for (const w of podsOf(withJob))
      expect(w.spec.template.metadata.labels['app.kubernetes.io/component'], id(w)).toBe(component(w));
  });

  it('shutdown windows fit in terminationGracePeriodSeconds, and every pod meets Pod Security "restricted"', () => {
    const drainS = Number(configMapData.API_DRAIN_MS) / 1000;
    const graceS = Number(configMapData.WORKER_SHUTDOWN_GRACE_MS) / 1000;
    for (const w of podsOf(rendered)) {
      const pod = w.spec.template.spec;
      const c = pod.containers[0]!;
      const preStop = Number(c.lifecycle?.preStop?.exec?.command[1] ?? 0);
      if (c.name === 'api') expect(pod.terminationGracePeriodSeconds!).toBeGreaterThan(preStop + drainS);
      // infra/README.md: keep it about 30 s or more above WORKER_SHUTDOWN_GRACE_MS.
      else expect(pod.terminationGracePeriodSeconds!, w.metadata.name).toBeGreaterThanOrEqual(graceS + 30);
    }
    expect(named(rendered, 'Namespace')[0]!.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const w of podsOf(withJob)) {
      const pod = w.spec.template.spec;
      for (const c of pod.containers) {
        const id = `${w.metadata.name}/${c.name}`;
        expect(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, id).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, id).toBe(false);
        expect(c.securityContext?.capabilities?.drop, id).toEqual(['ALL']);
        expect((c.securityContext?.seccompProfile ?? pod.securityContext?.seccompProfile)?.type, id).toBe(
          'RuntimeDefault',
        );
      }
    }
  });
});

describe('temporal.docker-compose.yml', () => {
  let bin: string;
  let dir: string;
  beforeAll(async () => {
    bin = await composeCheckBin;
    dir = await mkdtemp(join(tmpdir(), 'bc-compose-'));
  }, ACQUIRE_TIMEOUT);
  afterAll(() => dir && rm(dir, { recursive: true, force: true }));

  it('loads with compose-go (schema, interpolation, consistency), and its start order and mounts hold', async () => {
    const result = await composeCheck(bin, [composeFile]);
    if (!result.ok) throw new Error(result.error);
    const { services } = result.project;
    expect(Object.keys(services).sort()).toEqual(
      [
        'beyondcloud-postgres',
        'temporal',
        'temporal-postgresql',
        'temporal-schema',
        'temporal-setup',
        'temporal-ui',
      ].sort(),
    );
    for (const [name, s] of Object.entries(services)) {
      // Waiting for `service_healthy` needs a healthcheck there; `service_completed_successfully` a one-shot.
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        const target = services[dep]!;
        if (condition === 'service_healthy')
          expect(target.healthcheck?.test?.length && !target.healthcheck.disable, `${name} -> ${dep}`).toBeTruthy();
        else if (condition === 'service_completed_successfully') expect(target.restart, `${name} -> ${dep}`).toBe('no');
        else expect(condition, `${name} -> ${dep}`).toBe('service_started');
      }
      // Bind mounts exist (Docker would create a missing source as an empty folder), and so do the scripts run
      // from them.
      for (const v of s.volumes ?? []) {
        if (v.type !== 'bind') continue;
        expect(existsSync(v.source), `${name}: ${v.source}`).toBe(true);
        expect(v.read_only, `${name}: ${v.source}`).toBe(true);
        for (const arg of s.command ?? [])
          if (arg.startsWith(`${v.target}/`))
            expect(existsSync(join(v.source, arg.slice(v.target.length))), `${name}: ${arg}`).toBe(true);
      }
      const dynamicConfig = s.environment?.DYNAMIC_CONFIG_FILE_PATH;
      if (dynamicConfig)
        expect(
          s.volumes?.map((v) => v.target),
          name,
        ).toContain(dynamicConfig);
      // Loopback only, pinned image tags that infra/README.md lists.
      for (const p of s.ports ?? []) expect(p.host_ip, `${name}: ${p.published}`).toBe('127.0.0.1');
      expect(s.image, name).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
      expect(infraReadme, `${name}: ${s.image}`).toContain(`\`${s.image}\``);
    }
    // The start order infra/README.md gives.
    expect(services['temporal-schema']!.depends_on).toMatchObject({
      'temporal-postgresql': { condition: 'service_healthy' },
    });
    expect(services.temporal!.depends_on).toMatchObject({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    expect(services['temporal-setup']!.depends_on).toMatchObject({ temporal: { condition: 'service_healthy' } });
    expect(services['temporal-ui']!.depends_on).toMatchObject({ temporal: { condition: 'service_healthy' } });
  });

  it('compose-check rejects a broken file with one clear line', async () => {
    const broken = join(dir, 'broken.yml');
    await writeFile(broken, 'services:\n  a:\n    image: busybox:1\n    depends_on: [missing]\n');
    expect(await composeCheck(bin, [broken])).toEqual({
      ok: false,
      error: expect.stringContaining('service "a" depends on undefined service "missing"'),
    });
    await writeFile(broken, 'services:\n  a:\n    image: busybox:1\n    ports: 7233\n');
    expect(await composeCheck(bin, [broken])).toEqual({
      ok: false,
      error: expect.stringMatching(/ports.*(array|must be)/),
    });
    await writeFile(
      broken,
      'services:\n  a:\n    image: busybox:1\n    depends_on: [b]\n  b:\n    image: busybox:1\n    depends_on: [a]\n',
    );
    expect(await composeCheck(bin, [broken])).toEqual({ ok: false, error: expect.stringContaining('cycle') });
  });
});
