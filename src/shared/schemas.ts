// Request schemas (zod): one strict schema per request channel. Hosts validate every request with
// these before anything happens; an invalid request has no side effect. Strict objects refuse extra
// keys; numbers must be finite and in range; strings are bounded; paths must be absolute, free of
// NUL bytes and of `..` segments.

import { z } from 'zod';
import {
  Channels,
  type Channel,
  type RequestOf,
} from './contract';
import { TRAIN_LIMITS } from './training-defaults';
import { DATASET_SIZES, FIT_MODES, IMAGE_SIZES, MODEL_KINDS, MODEL_NAME_PATTERN } from './types';

export const LIMITS = {
  /** Longest path accepted (bytes of UTF-16, roughly PATH_MAX). */
  path: 4096,
  name: 200,
  datasetName: 100,
  ...TRAIN_LIMITS,
  maxPoints: 100_000,
  id: Number.MAX_SAFE_INTEGER,
  /** Images in one gallery (MAX_GALLERY_IMAGES in the core). */
  galleryImages: 1024,
  classes: 1000,
  /** Latent lab: operands in one expression, images averaged in one operand, interpolation frames. */
  labOperands: 8,
  labMean: 64,
  labFrames: 64,
  expression: 200,
} as const;

const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

/** Absolute POSIX (`/x`) or Windows (`C:\x`, `\\server\share`) path. */
function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

function hasDotDotSegment(p: string): boolean {
  return p.split(/[\\/]/).some((segment) => segment === '..');
}

/** An absolute filesystem path, at most LIMITS.path long, without NUL or `..` segments. */
export const absolutePath = z
  .string()
  .min(1, 'a path is required')
  .max(LIMITS.path, `a path may be at most ${LIMITS.path} characters`)
  .refine((p) => !p.includes('\0'), 'a path may not contain NUL characters')
  .refine(isAbsolutePath, 'the path must be absolute')
  .refine((p) => !hasDotDotSegment(p), 'the path may not contain ".." segments');

/** Free text shown to users (names): no control characters, trimmed length 1..max. */
const label = (max: number) =>
  z
    .string()
    .max(max, `at most ${max} characters`)
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'control characters are not allowed')
    .refine((s) => s.trim().length > 0, 'may not be empty');

const id = z.number().int('must be a whole number').min(1, 'must be 1 or more').max(LIMITS.id);
const int = (min: number, max: number) => z.number().int('must be a whole number').min(min).max(max);
const nothing = z.union([z.undefined(), z.null()]).transform((): void => undefined);

/** Training data: an imported dataset's name, or an absolute path. */
const trainingData = z
  .string()
  .min(1, 'choose a dataset or a folder')
  .max(LIMITS.path)
  .refine((p) => !p.includes('\0'), 'may not contain NUL characters')
  .refine((p) => !hasDotDotSegment(p), 'may not contain ".." segments')
  .refine((p) => isAbsolutePath(p) || !/[\\/]/.test(p), 'a path must be absolute (or give a dataset name)');

const backend = z.enum(BACKENDS);
const literalOf = <T extends string | number>(values: readonly T[]) =>
  z.union(values.map((v) => z.literal(v)) as unknown as [z.ZodLiteral<T>, z.ZodLiteral<T>, ...z.ZodLiteral<T>[]]);

export const appInfoRequest = z.union([nothing, z.strictObject({ probeBackend: z.boolean().optional() })]);

export const datasetImportRequest = z.strictObject({
  path: absolutePath,
  name: label(LIMITS.datasetName),
  size: literalOf(DATASET_SIZES).optional(),
  channels: literalOf([1, 3] as const).optional(),
  labels: z.boolean().optional(),
  fit: z.enum(FIT_MODES).optional(),
  mirror: z.boolean().optional(),
});

export const datasetRef = z.strictObject({ id });
export const runRef = z.strictObject({ runId: id });

export const timelineGifRequest = z.strictObject({
  runId: id,
  delayMs: z.number().int().min(20).max(10_000).optional(),
});

export const runMetricsRequest = z.strictObject({
  runId: id,
  fromStep: int(0, LIMITS.steps).optional(),
  maxPoints: int(1, LIMITS.maxPoints).optional(),
});

export const trainingNewRequest = z.strictObject({
  data: trainingData,
  model: z.enum(MODEL_KINDS).optional(),
  size: literalOf(IMAGE_SIZES).optional(),
  channels: literalOf([1, 3] as const).optional(),
  latent: int(1, LIMITS.latent).optional(),
  epochs: int(1, LIMITS.epochs).optional(),
  steps: int(1, LIMITS.steps).nullable().optional(),
  batch: int(1, LIMITS.batch).optional(),
  lr: z.number().gt(0, 'must be positive').max(1, 'must be at most 1').optional(),
  beta1: z.number().min(0).lt(1).optional(),
  beta2: z.number().min(0).lt(1).optional(),
  k: int(1, LIMITS.k).optional(),
  seed: int(0, LIMITS.seed).optional(),
  name: label(LIMITS.name).optional(),
  limit: int(1, LIMITS.limit).nullable().optional(),
  labels: z.boolean().optional(),
  backend: backend.optional(),
  augment: z.boolean().optional(),
  ema: z.boolean().optional(),
});

export const trainingPlanRequest = trainingNewRequest.extend({ measure: z.boolean().optional() });

export const trainingResumeRequest = z.strictObject({
  resume: id,
  epochs: int(1, LIMITS.epochs).optional(),
  steps: int(1, LIMITS.steps).nullable().optional(),
  backend: backend.optional(),
});

export const trainingStartRequest = z.union([trainingNewRequest, trainingResumeRequest]);

export const folderListRequest = z.union([
  nothing,
  z.strictObject({ path: absolutePath.optional(), showHidden: z.boolean().optional() }),
]);

export const openFolderRequest = z.union([nothing, z.strictObject({ title: label(200).optional() })]);

/** A bare file name: no folder separators, no NUL, not `.` or `..`. */
const fileName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[\\/\u0000]/.test(s) && s !== '.' && s !== '..', 'must be a file name without folders');

export const saveFileRequest = z.strictObject({
  title: label(200).optional(),
  defaultName: fileName,
  filters: z
    .array(z.strictObject({ name: label(100), extensions: z.array(z.string().regex(/^[A-Za-z0-9]{1,10}$/)).min(1).max(10) }))
    .max(8)
    .optional(),
});

/** Exactly one of `runId` / `modelId`: where a gallery's images come from. */
const oneSource = (v: { runId?: number; modelId?: number }) => (v.runId === undefined) !== (v.modelId === undefined);
const ONE_SOURCE = { message: 'give runId or modelId (one of them)', path: ['runId'] };

export const galleryCreateRequest = z
  .strictObject({
    runId: id.optional(),
    modelId: id.optional(),
    count: int(1, LIMITS.galleryImages).optional(),
    seed: int(0, LIMITS.seed).optional(),
    perClass: int(1, LIMITS.galleryImages).optional(),
    classes: z.array(int(0, LIMITS.classes)).min(1).max(LIMITS.classes).optional(),
    name: label(LIMITS.name).optional(),
  })
  .refine(oneSource, ONE_SOURCE);

export const galleryRef = z.strictObject({ galleryId: id });

export const galleryListRequest = z.union([
  nothing,
  z
    .strictObject({ runId: id.optional(), modelId: id.optional() })
    .refine((v) => v.runId === undefined || v.modelId === undefined, { message: 'give runId or modelId, not both', path: ['runId'] }),
]);

export const galleryPickRequest = z.strictObject({
  galleryId: id,
  indices: z.array(int(0, LIMITS.galleryImages - 1)).max(LIMITS.galleryImages),
  picked: z.boolean(),
});

export const gallerySaveRequest = z.strictObject({
  galleryId: id,
  which: z.enum(['picked', 'all']),
  outDir: absolutePath,
  asGrid: z.boolean().optional(),
});

const galleryImage = int(0, LIMITS.galleryImages - 1);
const classIndex = int(0, LIMITS.classes - 1);

export const galleryRegenerateRequest = z.strictObject({
  galleryId: id,
  index: galleryImage,
  checkpointStep: int(0, LIMITS.steps).optional(),
});

export const modelImportRequest = z.strictObject({
  path: absolutePath,
  name: z.string().regex(MODEL_NAME_PATTERN, "a model name is 1 to 100 letters, digits, '.', '_' or '-' (not starting with '.' or '-')").optional(),
});

export const modelRef = z.strictObject({ modelId: id });

export const latentArithmeticRequest = z.strictObject({
  galleryId: id,
  expression: label(LIMITS.expression),
  operands: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/, 'an operand name is a letter or _ then letters, digits or _ (at most 32)'),
        indices: z.array(galleryImage).min(1, 'choose at least one image').max(LIMITS.labMean),
        classLabel: classIndex.optional(),
      }),
    )
    .min(1, 'give at least one operand')
    .max(LIMITS.labOperands),
  resultClass: classIndex.optional(),
});

export const latentInterpolateRequest = z.strictObject({
  galleryId: id,
  from: galleryImage,
  to: galleryImage,
  frames: int(2, LIMITS.labFrames),
  mode: z.enum(['lerp', 'slerp']).optional(),
  delayMs: int(10, 10_000).optional(),
  fromClass: classIndex.optional(),
  toClass: classIndex.optional(),
});

type RequestSchemas = { [C in Channel]: z.ZodType<RequestOf<C>, unknown> };

/** One schema per request channel: a missing one is a compile error. */
export const requestSchemas: RequestSchemas = {
  [Channels.appInfo]: appInfoRequest,
  [Channels.datasetsList]: nothing,
  [Channels.datasetsImport]: datasetImportRequest,
  [Channels.datasetsDelete]: datasetRef,
  [Channels.runsList]: nothing,
  [Channels.runsGet]: runRef,
  [Channels.runsMetrics]: runMetricsRequest,
  [Channels.runsDelete]: runRef,
  [Channels.runsTimelineGif]: timelineGifRequest,
  [Channels.trainingStart]: trainingStartRequest,
  [Channels.trainingPause]: runRef,
  [Channels.trainingResume]: runRef,
  [Channels.trainingStop]: runRef,
  [Channels.trainingPlan]: trainingPlanRequest,
  [Channels.fsList]: folderListRequest,
  [Channels.dialogOpenFolder]: openFolderRequest,
  [Channels.dialogSaveFile]: saveFileRequest,
  [Channels.galleriesCreate]: galleryCreateRequest,
  [Channels.galleriesList]: galleryListRequest,
  [Channels.galleriesGet]: galleryRef,
  [Channels.galleriesPick]: galleryPickRequest,
  [Channels.galleriesSave]: gallerySaveRequest,
  [Channels.galleriesDelete]: galleryRef,
  [Channels.galleriesRegenerate]: galleryRegenerateRequest,
  [Channels.galleriesCheckpoints]: galleryRef,
  [Channels.modelsList]: nothing,
  [Channels.modelsImport]: modelImportRequest,
  [Channels.modelsDelete]: modelRef,
  [Channels.latentArithmetic]: latentArithmeticRequest,
  [Channels.latentInterpolate]: latentInterpolateRequest,
};

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** Validates a request for `channel`; on failure, a short message naming the bad fields. */
export function parseRequest<C extends Channel>(channel: C, raw: unknown): ParseResult<RequestOf<C>> {
  const schema = requestSchemas[channel] as z.ZodType<RequestOf<C>, unknown>;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, message: `Invalid ${channel} request: ${describeIssues(parsed.error.issues)}` };
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  // A union's failure is reported as one issue holding each branch's issues: show the closest branch.
  const flat = issues.flatMap((issue) => {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
      return best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
    }
    return [issue];
  });
  const text = flat
    .slice(0, 5)
    .map((i) => {
      const where = i.path.map((p) => String(p).slice(0, 40)).join('.');
      // Messages may quote a key the client sent (any length): keep each one short.
      const message = i.message.length > 200 ? `${i.message.slice(0, 200)}…` : i.message;
      return where ? `${where}: ${message}` : message;
    })
    .join('; ');
  return flat.length > 5 ? `${text}; …` : text;
}
