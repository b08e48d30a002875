/**
 * All talk with the nbmodels server extension (`/nbmodels/api/`) goes through this module.
 * `ServerConnection.makeRequest` adds the token and the XSRF header.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

type Values = Record<string, unknown>;

export interface IModelSummary {
  name: string;
  versions: number;
  latest_version: string;
  latest_stage: string;
  production_version: string | null;
  updated_at: string;
  key_metric: string | null;
  key_metric_value: number | null;
  description: string | null;
}

export interface IModelVersion {
  name: string;
  version: string;
  ref: string;
  stage: string;
  run_id: string | null;
  model_type: string;
  size: number;
  created_at: string;
  user: string | null;
  bump: string;
  bump_reason: string;
  note: string | null;
  variable: string | null;
  params: Values;
  metrics: Values;
  tags: Values;
  /** `local`, `remote` or `both`; null for a registry without remotes. */
  location?: string | null;
}

export interface IVariable {
  name: string;
  role: string;
  type: string;
  size: number | null;
  value: unknown;
  reason: string | null;
}

export interface IInput {
  name: string;
  type: string;
  fingerprint: string;
  schema: Values;
  stats: Values;
  reason: string | null;
}

export interface IRun {
  id: string;
  experiment: string;
  status: string;
  started_at: string;
  duration_s: number;
  user: string | null;
  notebook: string | null;
  note: string | null;
  tags?: Values;
  source: string;
  params: Values;
  metrics: Values;
  packages: Values;
  git: Values | null;
  variables: IVariable[];
  inputs: IInput[];
}

export interface ITransition {
  name: string;
  version: string;
  from_stage: string;
  to_stage: string;
  user: string | null;
  at: string;
  note: string | null;
}

/** One metric of a version beside the production version's (`Registry.standing`). */
export interface IMetricStanding {
  name: string;
  value: unknown;
  champion: unknown;
  verdict: '' | 'better' | 'worse' | 'same';
}

/** Where a version stands: champion or challenger, and where it lives. */
export interface IStanding {
  ref: string;
  /** `local`, `remote`, `both`; null for a registry without remotes. */
  location: string | null;
  is_champion: boolean;
  champion: string | null;
  metrics: IMetricStanding[];
}

/** A version's page: the version, the run that produced it, its stage history, and where
 * it stands. */
export interface IVersionDetail {
  version: IModelVersion;
  run: IRun | null;
  history: ITransition[];
  standing: IStanding;
}

/** `Registry.lineage`: the cells that produced what a run read, the tracked cell last. */
export interface ILineage {
  run_id: string;
  cells: {
    execution_count: number | null;
    source: string;
    binds: string[];
    reads: string[];
  }[];
  flags: {
    kind: string;
    names: string[];
    execution_count: number | null;
    detail: string;
  }[];
}

/** A page of a runs search, with every experiment and the metric names to sort on. */
export interface IRunsPage {
  runs: IRun[];
  total: number;
  limit: number;
  offset: number;
  experiments: string[];
  metrics: string[];
}

/** A run's page: the run and the versions registered from it. */
export interface IRunDetail {
  run: IRun;
  versions: IModelVersion[];
}

/** `Registry.reproduce`: `exact`, `equivalent` or `differs`, with what differs. */
export interface IReproduceReport {
  run_id: string;
  mode: string;
  status: 'exact' | 'equivalent' | 'differs';
  differences: {
    kind: string;
    name: string;
    detail: string;
    recorded: unknown;
    now: unknown;
  }[];
  models: Record<string, string>;
  cells: string[];
  duration_s: number;
}

/** A row of a comparison table: its key (`param`, `name`, `field`...) and one value per REF. */
export interface ICompareRow {
  values: Record<string, unknown>;
  changed?: boolean;
  delta?: Record<string, unknown>;
  change?: Record<string, string>;
  [key: string]: unknown;
}

/** `Registry.compare(...).to_dict()`: what `%compare` and `nbmodels diff` show. */
export interface IComparison {
  refs: string[];
  summary: Record<string, unknown>;
  params: ICompareRow[];
  metrics: ICompareRow[];
  models: ICompareRow[];
  env: ICompareRow[];
  code: { unified: string };
}

/** A page of a model's versions, oldest first: `versions` are those at `offset`.. of `total`. */
export interface IVersionsPage {
  versions: IModelVersion[];
  total: number;
  limit: number;
  offset: number;
}

/** The most versions one `versions` request returns (the server's `VERSIONS_PAGE_MAX`). */
export const VERSIONS_PAGE_MAX = 500;

export const STAGES = ['none', 'staging', 'production', 'archived'];

/** An error reply: `{"error": {"type", "message"}}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string
  ) {
    super(message);
  }
}

type Query = Record<string, string | string[] | undefined>;

async function request<T>(endpoint: string, query: Query, init: RequestInit = {}): Promise<T> {
  const { response, text } = await send(endpoint, query, init);
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    throw errorOf(response, body);
  }
  return body as T;
}

/** A reply that is not JSON (the model card), as text; errors are JSON as everywhere. */
async function requestText(endpoint: string, query: Query): Promise<string> {
  const { response, text } = await send(endpoint, query, {});
  if (!response.ok) {
    let body: any = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    throw errorOf(response, body);
  }
  return text;
}

function errorOf(response: Response, body: any): ApiError {
  const error = body?.error ?? {};
  return new ApiError(
    response.status,
    String(error.type ?? 'HTTPError'),
    String(error.message ?? `${response.status} ${response.statusText}`)
  );
}

async function send(
  endpoint: string,
  query: Query,
  init: RequestInit
): Promise<{ response: Response; text: string }> {
  const settings = ServerConnection.makeSettings();
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined) {
        params.append(key, one);
      }
    }
  }
  const url = URLExt.join(settings.baseUrl, 'nbmodels', 'api', endpoint);
  const response = await ServerConnection.makeRequest(
    params.toString() ? `${url}?${params}` : url,
    init,
    settings
  );
  return { response, text: await response.text() };
}

const seg = encodeURIComponent;

/**
 * The REST API, one function per endpoint. `path` is the notebook's folder relative to the
 * server root: the server finds the registry from there.
 */
export const api = {
  models: (path: string) =>
    request<{ home: string; models: IModelSummary[] }>('models', { path }),
  /** Versions oldest first, `limit` (1..VERSIONS_PAGE_MAX) of them from `offset`. */
  versions: (path: string, name: string, offset: number, limit: number) =>
    request<IVersionsPage>(`versions/${seg(name)}`, {
      path,
      offset: String(offset),
      limit: String(limit)
    }),
  /** `Registry.version_detail`: a version with its run (null if none) and its own stage
   * changes, oldest first. */
  versionDetail: (path: string, name: string, version: string) =>
    request<IVersionDetail>(`versions/${seg(name)}/${seg(version)}`, { path }),
  compare: async (path: string, refs: string[]) =>
    (await request<{ comparison: IComparison }>('compare', { path, ref: refs }))
      .comparison,
  /** Runs newest first, or sorted by `order` (`metrics.accuracy DESC`, `duration_s`);
   * `q` searches ids, experiments, notes, tags and params. */
  runs: (
    path: string,
    query: { q?: string; experiment?: string; order?: string; offset: number; limit: number }
  ) =>
    request<IRunsPage>('runs', {
      path,
      q: query.q || undefined,
      experiment: query.experiment || undefined,
      order: query.order || undefined,
      offset: String(query.offset),
      limit: String(query.limit)
    }),
  run: (path: string, id: string) => request<IRunDetail>(`runs/${seg(id)}`, { path }),
  lineage: async (path: string, ref: string) =>
    (await request<{ lineage: ILineage }>(`lineage/${seg(ref)}`, { path })).lineage,
  /** `Registry.register_run`: the run's captured model as a new version. */
  registerRun: (
    path: string,
    body: { run: string; name?: string; variable?: string; note?: string }
  ) =>
    request<{ version: IModelVersion; created: boolean }>(
      'register',
      { path },
      { method: 'POST', body: JSON.stringify(body) }
    ),
  /** `Registry.reproduce`, run by the server in a process of its own. */
  reproduce: async (path: string, ref: string, mode: 'inputs' | 'scratch') =>
    (
      await request<{ report: IReproduceReport }>(
        'reproduce',
        { path },
        { method: 'POST', body: JSON.stringify({ ref, mode }) }
      )
    ).report,
  /** The model card as a self-contained HTML page (text, to show in a sandboxed frame). */
  card: (path: string, ref: string) => requestText(`card/${seg(ref)}`, { path }),
  stage: async (path: string, ref: string, stage: string, note: string) =>
    (
      await request<{ version: IModelVersion }>(
        'stage',
        { path },
        {
          method: 'POST',
          body: JSON.stringify({ ref, stage, note: note || null })
        }
      )
    ).version
};
