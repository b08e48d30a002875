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

/** A version's page: the version, the run that produced it and its stage history. */
export interface IVersionDetail {
  version: IModelVersion;
  run: IRun | null;
  history: ITransition[];
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

async function request<T>(
  endpoint: string,
  query: Record<string, string | string[] | undefined>,
  init: RequestInit = {}
): Promise<T> {
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
  const text = await response.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body?.error ?? {};
    throw new ApiError(
      response.status,
      String(error.type ?? 'HTTPError'),
      String(error.message ?? `${response.status} ${response.statusText}`)
    );
  }
  return body as T;
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
