import type { ChildProcess } from 'node:child_process';
import type { StageOutcome } from '../core/stages.ts';
import type { Ui } from '../core/ui.ts';
import type { DnsServer } from '../lab/dns-server.ts';
import type { Emulator } from '../lab/emulator.ts';
import type { FrontDoor } from '../lab/front-door.ts';
import type { ImageBuilder } from '../lab/image.ts';
import type { Lab, LabMode } from '../lab/netns.ts';
import type { Environment, ProjectConfig } from '../project/environment.ts';
import type { RenderedTree } from '../templates/render.ts';
import type { VerifyReport } from '../verify/verify-report.ts';
import type { DataPathFacts } from './rendered.ts';

/** What one `npm run local` asks for (the flags, checked by scripts/local.ts). */
export interface LocalSettings {
  /** Network mode to rehearse; default: the environment file's NetworkMode. */
  mode?: LabMode;
  /** Environment key; default: what a push of the current branch resolves to, else a preview. */
  environment?: string;
  albIpAddressType?: 'dualstack' | 'dualstack-without-public-ipv4';
  /** `never` forces the loopback fallback even where namespaces work. */
  namespaces: 'auto' | 'never';
  /** `never` skips the image build (and says so); the app then runs from its bundle. */
  image: 'auto' | 'never';
  /** Extra or overriding environment variables for the app (e.g. HOST=0.0.0.0). */
  appEnv: Record<string, string>;
  deadlineSeconds: number;
  outDir?: string;
  /** Stay up after the report until Ctrl-C. */
  keep: boolean;
  /**
   * Rehearse a migration to IPv6-only at this Ipv6OnlyTrafficPercent (1-100): a second app in
   * an IPv6-only namespace, the front door splitting by the weight (docs/migration.md).
   */
  ipv6OnlyPercent?: number;
  /**
   * Rehearse this many previews (pr-1 … pr-N) at once behind one front door standing in for the
   * shared preview edge (docs/preview-edge.md), each verified through it.
   */
  previews?: number;
  /** With `previews`: the preview domain (host routing); default: cfn/environments/preview-edge.yml's. */
  previewDomain?: string;
}

/** One app the rehearsal runs, and how to stop it. */
export interface RunningApp {
  stop(): Promise<unknown>;
  process: ChildProcess;
  env: Record<string, string>;
  logs: string[];
  /** The buildah working container the app runs in (image runs only). */
  container?: string;
}

/** What the rehearsal knows of one environment: its stacks as rendered, its data path, its app. */
export interface EnvironmentRun {
  environment?: Environment;
  mode?: LabMode;
  parameters?: Record<string, string>;
  tree?: RenderedTree;
  /** What the rendered stacks say about the data path; derived once from `tree`. */
  facts?: DataPathFacts;
  lab?: Lab;
  /** The IPv6-only side of a split: its namespace and app. */
  ipv6Only?: { lab: Lab; app?: RunningApp };
  app?: RunningApp;
  /** The front door's listener for this environment (its own, or its port on a shared one). */
  port?: number;
  url?: string;
  report?: VerifyReport;
}

/** The routes of the previews behind the shared front door (`--previews`). */
export interface PreviewEdgeRun {
  routing: 'host' | 'port';
  /** Host routing: the preview domain. Port routing: the edge's DNS name. */
  domain: string;
  /** The edge ALB's address type (cfn/environments/preview-edge.yml, or --alb). */
  albIpAddressType: string;
  /** The edge's listener ports for port routing (PortRangeStart-PortRangeEnd). */
  range: { start: number; end: number };
}

/** The whole run: its settings, what it shares, and (one environment) that environment. */
export interface Context extends EnvironmentRun {
  settings: LocalSettings;
  ui: Ui;
  config: ProjectConfig;
  /** Aborted on Ctrl-C: every stage passes it on to what it waits for or runs. */
  signal: AbortSignal;
  builder?: ImageBuilder;
  namespaces?: { available: boolean; reason: string };
  emulator?: Emulator;
  imageTag?: string;
  /** Why the app runs from its bundle rather than its image, when it does. */
  noImage?: string;
  dns?: DnsServer;
  frontDoor?: FrontDoor;
  /** `--previews`: one run per preview, behind one front door (the context's own fields stay unset). */
  previews?: EnvironmentRun[];
  edge?: PreviewEdgeRun;
  cleanups: Cleanups;
}

export interface LocalResult {
  ok: boolean;
  environment: string;
  mode: LabMode;
  dataPath: 'namespaces' | 'loopback';
  outcomes: StageOutcome[];
  report?: VerifyReport;
  markdown: string;
  /** Why the run failed, in one line, when it did. */
  failure?: string;
  /** The stage a Ctrl-C interrupted, and what was stopped. */
  interrupted?: { stage: string | undefined; stopped: readonly string[] };
}

export const CONTAINER_PORT_DEFAULT = 8080;

export const asRecord = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** The environments of a run: its previews, or the one environment of the context itself. */
export function environmentsOf(context: Context): EnvironmentRun[] {
  return context.previews ?? [context];
}

/**
 * What the rehearsal must stop, newest first. Once `runAll` has begun, a cleanup added late (by
 * a stage that was still finishing when Ctrl-C came) runs at once, so nothing it started outlives it.
 */
export class Cleanups {
  private readonly pending: (() => Promise<unknown> | undefined)[] = [];
  private closed = false;
  private late: Promise<unknown>[] = [];
  /** What was started and is (or will be) stopped, e.g. 'the emulator', in order of starting. */
  readonly started: string[] = [];

  constructor(private readonly warn: (message: string) => void) {}

  add(what: string, cleanup: () => Promise<unknown> | undefined): void {
    this.started.push(what);
    if (this.closed) this.late.push(this.runOne(cleanup));
    else this.pending.push(cleanup);
  }

  private async runOne(cleanup: () => Promise<unknown> | undefined): Promise<void> {
    try {
      await cleanup();
    } catch (error) {
      this.warn(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async runAll(): Promise<void> {
    this.closed = true;
    for (const cleanup of this.pending.splice(0).reverse()) await this.runOne(cleanup);
    await Promise.all(this.late);
  }
}
