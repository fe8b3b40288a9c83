// `gan-studio`: the headless host. One command line → one call into the Studio core.
import pkg from '../../../../package.json';
import type { QualityPoint, RunRecord, StepMetrics } from '../../../shared/types';
import { formatDurationWords } from '../../../shared/format';
import { describePlan } from '../../../shared/training-plan';
import { describeBackend } from '../../../shared/backend';
import { resolveHome } from '../../core/home';
import type { StoredDataset } from '../../core/store/dataset-store';
import type { StoredModel } from '../../core/store/model-store';
import { Studio, StudioError, type TrainingHandle } from '../../core/studio';
import { parseCommand, USAGE, UsageError, type Command } from './args';
import { serve } from './serve';

const EXIT = { ok: 0, failed: 1, usage: 2, diverged: 3, stopped: 130 } as const;

const out = (line: string) => process.stdout.write(line + '\n');
const json = (value: unknown) => out(JSON.stringify(value));

function fmt(n: number, digits = 3): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function runSummary(run: RunRecord) {
  return {
    id: run.id,
    name: run.name,
    status: run.status,
    model: run.config.model.kind,
    size: run.config.model.size,
    channels: run.config.model.channels,
    backend: run.backend,
    step: run.step,
    epoch: run.epoch,
    data: run.config.data,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    error: run.error,
    verdict: run.verdict,
  };
}

async function train(studio: Studio, cmd: Extract<Command, { name: 'train' }>): Promise<number> {
  const handle = await studio.train({
    config: cmd.config ?? undefined,
    resume: cmd.resume ?? undefined,
    epochs: cmd.epochs,
    steps: cmd.steps,
    backend: cmd.backend,
    limit: cmd.limit,
    labels: cmd.labels,
    shapeFromDataset: cmd.shapeFromDataset,
    planned: cmd.planned,
  });
  const { run, data, backend, plan } = handle;
  // A step time from earlier runs like this one on this machine, if any (else measured below).
  const known = plan ? studio.stepTimeEstimate(run.config, backend.name) : null;
  const config = run.config;
  const tty = !cmd.json && process.stdout.isTTY === true;
  if (cmd.json) {
    json({
      event: 'start',
      runId: run.id,
      name: run.name,
      resumedFrom: cmd.resume !== null ? handle.startStep : null,
      backend: backend.name,
      backendReason: backend.reason,
      model: config.model,
      data: { source: data.source, format: data.format, count: data.count, classes: data.classNames, skipped: data.skipped.length },
      batch: data.batch,
      stepsPerEpoch: data.stepsPerEpoch,
      totalSteps: handle.totalSteps,
      augment: config.augment ?? false,
      ema: config.ema ?? false,
      plan: plan ? { ...plan, text: describePlan(plan, data.count, known?.msPerStep), msPerStep: known?.msPerStep ?? null } : null,
    });
  } else {
    out(`${cmd.resume !== null ? 'Resuming' : 'Training'} run ${run.id} "${run.name}": ${config.model.kind} ${config.model.size}x${config.model.size}x${config.model.channels}`);
    out(`  backend: ${backend.reason}`);
    out(`  data: ${data.count} images from ${data.source}${data.classNames.length ? ` (${data.classNames.length} classes)` : ''}${data.skipped.length ? `, ${data.skipped.length} files skipped` : ''}`);
    for (const s of data.skipped.slice(0, 5)) out(`    skipped ${s.path}: ${s.reason}`);
    if (plan) {
      out(`  plan: ${describePlan(plan, data.count, known?.msPerStep)}${known ? ` (from run ${known.runId})` : ''}`);
      const planned = Object.entries(plan.planned).filter(([, v]) => v).map(([k]) => (k === 'length' ? 'length' : k));
      if (planned.length) out(`    (${planned.join(', ')} chosen for ${data.count.toLocaleString('en-US')} images; give --batch, --steps/--epochs, --augment, --ema to choose yourself)`);
      out(`  ${data.stepsPerEpoch} steps per epoch, lr ${config.lr}, beta1 ${config.beta1}, k ${config.k}`);
    } else {
      out(`  ${handle.totalSteps} steps (${data.stepsPerEpoch} per epoch), batch ${data.batch}, lr ${config.lr}, beta1 ${config.beta1}, k ${config.k}` +
        `${config.augment ? ', augmentation on' : ''}${config.ema ? ', averaged generator on' : ''}`);
    }
  }
  // Without a known step time, the plan's estimate comes from this run's own steps (after warm-up).
  const ESTIMATE_FROM = 10;
  const ESTIMATE_TO = 30;
  let estimateFrom: number | null = null;

  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      if (!cmd.json) process.stderr.write('\nStopping after this step and saving a checkpoint (Ctrl-C again to quit at once)…\n');
      handle.stop();
    } else {
      process.exit(EXIT.stopped);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = performance.now();
  let last: StepMetrics | null = null;
  let quality: QualityPoint | null = null;
  const warned = new Set<string>();
  let lastDraw = 0;
  let stepsThisRun = 0;
  const draw = (metrics: StepMetrics) => {
    const epochTotal = config.steps === null ? config.epochs : Math.ceil(handle.totalSteps / data.stepsPerEpoch);
    const inEpoch = ((metrics.step - 1) % data.stepsPerEpoch) + 1;
    const width = 24;
    const filled = Math.round((inEpoch / data.stepsPerEpoch) * width);
    const elapsed = (performance.now() - started) / 1000;
    const rate = (stepsThisRun * data.batch * config.k) / Math.max(elapsed, 1e-9);
    const eta = ((handle.totalSteps - metrics.step) * data.batch * config.k) / Math.max(rate, 1e-9);
    const line =
      `epoch ${metrics.epoch}/${epochTotal} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` +
      `step ${metrics.step}/${handle.totalSteps}  D ${fmt(metrics.lossD)}  G ${fmt(metrics.lossG)}  ` +
      `D(x) ${fmt(metrics.dReal, 2)}  D(G(z)) ${fmt(metrics.dFake, 2)}  ${quality ? `quality ${fmt(quality.score, 0)}  ` : ''}` +
      `${rate.toFixed(1)} img/s  ETA ${duration(eta)}`;
    process.stdout.write(`\r${line}\x1b[K`);
  };
  handle.on('step', (metrics) => {
    last = metrics;
    stepsThisRun++;
    if (plan && !known && handle.totalSteps - handle.startStep > ESTIMATE_TO) {
      if (stepsThisRun === ESTIMATE_FROM) estimateFrom = performance.now();
      else if (stepsThisRun === ESTIMATE_TO && estimateFrom !== null) {
        const msPerStep = (performance.now() - estimateFrom) / (ESTIMATE_TO - ESTIMATE_FROM);
        const seconds = ((handle.totalSteps - metrics.step) * msPerStep) / 1000;
        if (cmd.json) json({ event: 'estimate', msPerStep, remainingSeconds: seconds });
        else out(`${tty ? '\n' : ''}  estimated time left: about ${formatDurationWords(seconds)} (${msPerStep.toFixed(1)} ms a step, measured over steps ${ESTIMATE_FROM + 1}-${ESTIMATE_TO})`);
      }
    }
    if (cmd.json) json({ event: 'step', ...metrics });
    else if (tty && performance.now() - lastDraw > 100) {
      lastDraw = performance.now();
      draw(metrics);
    }
  });
  handle.on('epoch', (summary) => {
    if (cmd.json) return json({ event: 'epoch', ...summary });
    if (tty && last) draw(last);
    const m = last;
    out(
      `${tty ? '\n' : ''}epoch ${summary.epoch} done in ${summary.seconds.toFixed(1)}s, ${summary.imagesPerSec.toFixed(1)} images/s` +
        (m ? `  (D ${fmt(m.lossD)}, G ${fmt(m.lossG)}, D(x) ${fmt(m.dReal, 2)}, D(G(z)) ${fmt(m.dFake, 2)}` : '') +
        (m && quality ? `, quality ${fmt(quality.score, 0)} at step ${quality.step})` : m ? ')' : ''),
    );
  });
  handle.on('quality', (point) => {
    quality = point;
    if (cmd.json) json({ event: 'quality', ...point });
  });
  handle.on('warning', (warning) => {
    if (cmd.json) return json({ event: 'warning', ...warning });
    // A warning seen again (same kind) is printed once; `gan-studio runs` and the app keep the latest.
    if (warned.has(warning.code)) return;
    warned.add(warning.code);
    out(`${tty ? '\n' : ''}warning (step ${warning.step}): ${warning.message}`);
    out(`  try: ${warning.advice}`);
    if (warning.pairPath) out(`  a sample beside its nearest training image: ${warning.pairPath}`);
  });
  handle.on('grid', (grid) => (cmd.json ? json({ event: 'grid', ...grid }) : out(`  samples: ${grid.path}`)));
  handle.on('checkpoint', (cp) => (cmd.json ? json({ event: 'checkpoint', ...cp }) : out(`  checkpoint: ${cp.path}`)));

  const { run: final, peakRssBytes } = await handle.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const seconds = (performance.now() - started) / 1000;
  if (cmd.json) {
    json({
      event: 'done',
      runId: final.id,
      status: final.status,
      backend: final.backend,
      step: final.step,
      epoch: final.epoch,
      seconds: Math.round(seconds * 1000) / 1000,
      peakRssBytes,
      error: final.error,
      verdict: final.verdict,
    });
  } else {
    if (tty) out('');
    out(`Run ${final.id} ${final.status} at step ${final.step} (epoch ${final.epoch}) in ${duration(seconds)}.`);
    if (final.error) out(`  ${final.error}`);
    if (final.verdict) out(`Verdict: ${final.verdict.text}`);
    if (final.status === 'stopped' || final.status === 'interrupted') out(`  Resume with: gan-studio train --resume ${final.id}`);
  }
  switch (final.status) {
    case 'completed':
      return EXIT.ok;
    case 'stopped':
      return EXIT.stopped;
    case 'diverged':
      return EXIT.diverged;
    default:
      return EXIT.failed;
  }
}

async function generate(studio: Studio, cmd: Extract<Command, { name: 'generate' }>): Promise<number> {
  const result = await studio.generate({ ...cmd.source, count: cmd.count, outDir: cmd.out, grid: cmd.grid, seed: cmd.seed, classLabel: cmd.classLabel });
  const from = 'runId' in cmd.source ? { runId: cmd.source.runId } : { model: cmd.source.model };
  if (cmd.json) json({ event: 'done', ...from, step: result.step, files: result.files });
  else {
    const what = 'runId' in cmd.source ? `run ${cmd.source.runId}` : `model ${cmd.source.model}`;
    out(`Wrote ${result.files.length} file${result.files.length === 1 ? '' : 's'} from ${what} (step ${result.step}) to ${cmd.out}`);
  }
  return EXIT.ok;
}

async function latent(studio: Studio, cmd: Extract<Command, { name: 'latent' }>): Promise<number> {
  const r = await studio.latentArithmetic({ ...cmd.source, expression: cmd.expression, operands: cmd.operands, outDir: cmd.out, classLabel: cmd.classLabel });
  if (cmd.json) {
    json({ event: 'done', step: r.step, expression: r.expression, operands: r.operands, latentSpace: r.latentSpace, pixelWise: r.pixelWise, strip: r.strip });
    return EXIT.ok;
  }
  out(`G(${r.expression}) at step ${r.step}, operands ${r.operands.map((o) => `${o.name}=${o.seeds.join('/')}`).join(', ')}:`);
  out(`  latent space: ${r.latentSpace}`);
  out(`  pixel-wise:   ${r.pixelWise}`);
  out(`  strip:        ${r.strip} (operands, latent space, pixel-wise)`);
  return EXIT.ok;
}

async function interpolate(studio: Studio, cmd: Extract<Command, { name: 'interpolate' }>): Promise<number> {
  const r = await studio.interpolate({ ...cmd.source, from: cmd.from, to: cmd.to, steps: cmd.steps, mode: cmd.mode, out: cmd.out, classLabel: cmd.classLabel });
  if (cmd.json) json({ event: 'done', step: r.step, mode: r.mode, frames: r.frames, strip: r.strip, animation: r.animation });
  else out(`${r.frames} frames (${r.mode}, step ${r.step}): ${r.strip}\n  animation: ${r.animation}`);
  return EXIT.ok;
}

async function exportGenerator(studio: Studio, cmd: Extract<Command, { name: 'export' }>): Promise<number> {
  const r = await studio.exportGenerator({ runId: cmd.runId, outDir: cmd.out, raw: cmd.raw });
  if (cmd.json) json({ event: 'done', runId: cmd.runId, step: r.sidecar.step, dir: r.dir, files: r.files, sidecar: r.sidecar });
  else {
    out(`Exported run ${cmd.runId}'s generator (step ${r.sidecar.step}) to ${r.dir}`);
    out(`  load it with tf.loadLayersModel('<url>/model.json'); see gan-studio.json for its inputs`);
  }
  return EXIT.ok;
}

function modelSummary(m: StoredModel) {
  return {
    id: m.id,
    name: m.name,
    model: m.kind,
    size: m.size,
    channels: m.channels,
    latent: m.latent,
    classes: m.classNames.length ? m.classNames : m.numClasses,
    step: m.step,
    fromRunId: m.fromRunId,
    fromRunName: m.fromRunName,
    source: m.sourcePath,
    dir: m.dir,
    createdAt: m.createdAt,
  };
}

async function importModel(studio: Studio, cmd: Extract<Command, { name: 'import-model' }>): Promise<number> {
  const m = await studio.importModel({ path: cmd.path, name: cmd.modelName ?? undefined });
  if (cmd.json) json({ event: 'done', ...modelSummary(m) });
  else out(`Imported ${m.kind} generator "${m.name}" (id ${m.id}, ${m.size}x${m.size}x${m.channels}, latent ${m.latent}, step ${m.step}): use --model ${m.name}`);
  return EXIT.ok;
}

function models(studio: Studio, cmd: Extract<Command, { name: 'models' }>): number {
  const list = studio.listModels();
  if (cmd.json) {
    list.forEach((m) => json(modelSummary(m)));
    return EXIT.ok;
  }
  if (list.length === 0) {
    out('No imported models yet. Import one with: gan-studio import-model DIR --name NAME');
    return EXIT.ok;
  }
  const rows = list.map((m) => [String(m.id), m.name, m.kind, `${m.size}x${m.channels}`, String(m.latent), String(m.numClasses || '-'), String(m.step), m.fromRunId === null ? '-' : `#${m.fromRunId}${m.fromRunName ? ` ${m.fromRunName}` : ''}`]);
  const head = ['ID', 'NAME', 'MODEL', 'SIZE', 'LATENT', 'CLASSES', 'STEP', 'FROM RUN'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [head, ...rows]) out(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return EXIT.ok;
}

function runs(studio: Studio, cmd: Extract<Command, { name: 'runs' }>): number {
  const list = studio.listRuns();
  if (cmd.json) {
    list.forEach((run) => json(runSummary(run)));
    return EXIT.ok;
  }
  if (list.length === 0) {
    out('No runs yet. Start one with: gan-studio train --data PATH');
    return EXIT.ok;
  }
  const rows = list.map((r) => [
    String(r.id), r.status, r.config.model.kind, `${r.config.model.size}x${r.config.model.channels}`, r.backend ?? '-',
    String(r.step), String(r.epoch), r.name, r.verdict?.text ?? '-',
  ]);
  const head = ['ID', 'STATUS', 'MODEL', 'SIZE', 'BACKEND', 'STEP', 'EPOCH', 'NAME', 'VERDICT'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [head, ...rows]) out(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return EXIT.ok;
}

function datasetSummary(d: StoredDataset) {
  return {
    id: d.id,
    name: d.name,
    format: d.format,
    source: d.sourcePath,
    size: d.size,
    channels: d.channels,
    count: d.count,
    classes: d.classNames,
    fit: d.fit,
    mirror: d.mirror,
    seen: d.seen,
    skipped: d.skipped,
    cache: d.cachePath,
    contactSheet: d.contactSheetPath,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

async function importDataset(studio: Studio, cmd: Extract<Command, { name: 'import' }>): Promise<number> {
  const tty = !cmd.json && process.stderr.isTTY === true;
  let lastDraw = 0;
  let drew = false;
  const summary = await studio.importDataset(
    { path: cmd.path, name: cmd.datasetName, size: cmd.size, channels: cmd.channels, labels: cmd.labels, fit: cmd.fit, mirror: cmd.mirror },
    (p) => {
      const now = performance.now();
      const last = p.done === p.total;
      if (now - lastDraw < (cmd.json ? 500 : 100) && !last) return;
      lastDraw = now;
      if (cmd.json) {
        json({ event: 'progress', done: p.done, total: p.total, imported: p.imported, skipped: p.skipped, imagesPerSec: Math.round(p.imagesPerSec * 10) / 10, seconds: Math.round(p.seconds * 1000) / 1000 });
      } else if (tty) {
        drew = true;
        process.stderr.write(`\rimporting ${p.done}/${p.total}  ${p.imported} imported  ${p.skipped} skipped  ${p.imagesPerSec.toFixed(1)} images/s\x1b[K`);
      }
    },
  );
  if (drew) process.stderr.write('\n');
  const d = summary.dataset;
  if (cmd.json) {
    json({
      event: 'done',
      dataset: datasetSummary(d),
      imported: summary.imported,
      skipped: summary.skipped,
      skippedFiles: summary.skippedFiles,
      seen: summary.seen,
      count: summary.count,
      mirrored: summary.mirrored,
      unchanged: summary.unchanged,
      seconds: Math.round(summary.seconds * 1000) / 1000,
      imagesPerSec: Math.round(summary.imagesPerSec * 10) / 10,
      message: summary.message,
    });
    return EXIT.ok;
  }
  if (summary.unchanged) out(`Dataset ${summary.message}.`);
  else out(`Dataset "${d.name}" (id ${d.id}): ${summary.message} in ${summary.seconds.toFixed(1)}s (${summary.imagesPerSec.toFixed(1)} images/s).`);
  if (d.classNames.length) out(`  classes: ${d.classNames.join(', ')}`);
  if (summary.skipped) {
    out(`  skipped ${summary.skipped} of ${summary.seen}:`);
    for (const s of summary.skippedFiles) out(`    ${s.path}: ${s.reason}`);
  }
  out(`  cache: ${d.cachePath}`);
  if (d.contactSheetPath) out(`  contact sheet: ${d.contactSheetPath}`);
  out(`  train it with: gan-studio train --data ${/\s/.test(d.name) ? JSON.stringify(d.name) : d.name}`);
  return EXIT.ok;
}

function datasets(studio: Studio, cmd: Extract<Command, { name: 'datasets' }>): number {
  const list = studio.listDatasets();
  if (cmd.json) {
    list.forEach((d) => json(datasetSummary(d)));
    return EXIT.ok;
  }
  if (list.length === 0) {
    out('No datasets yet. Import one with: gan-studio import PATH --name NAME');
    return EXIT.ok;
  }
  const rows = list.map((d) => [
    String(d.id),
    d.name,
    d.format,
    `${d.size}x${d.channels}`,
    String(d.count) + (d.mirror ? ' (mirrored)' : ''),
    String(d.classNames.length || '-'),
    String(d.skipped),
    d.sourcePath,
  ]);
  const head = ['ID', 'NAME', 'FORMAT', 'SIZE', 'IMAGES', 'CLASSES', 'SKIPPED', 'SOURCE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [head, ...rows]) out(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return EXIT.ok;
}

async function info(studio: Studio, cmd: Extract<Command, { name: 'info' }>): Promise<number> {
  const i = await studio.info(pkg.version);
  if (cmd.json) {
    json({ version: i.version, home: i.home, node: i.node, platform: i.platform, backend: i.backend.name, backendReason: i.backend.reason, skipped: i.backend.skipped, details: i.backend.details, runs: i.runs });
    return EXIT.ok;
  }
  out(`GAN Studio ${i.version} (node ${i.node}, ${i.platform})`);
  out(`home:    ${i.home} (${i.runs} run${i.runs === 1 ? '' : 's'})`);
  out(`backend: ${describeBackend(i.backend)}`);
  return EXIT.ok;
}

export async function main(argv: string[]): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`gan-studio: ${err.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    throw err;
  }
  if (cmd.name === 'help') {
    out(USAGE);
    return EXIT.ok;
  }
  if (cmd.name === 'version') {
    out(pkg.version);
    return EXIT.ok;
  }
  let studio: Studio | null = null;
  try {
    studio = Studio.open(resolveHome({ home: cmd.home }));
    switch (cmd.name) {
      case 'train':
        return await train(studio, cmd);
      case 'generate':
        return await generate(studio, cmd);
      case 'runs':
        return runs(studio, cmd);
      case 'latent':
        return await latent(studio, cmd);
      case 'interpolate':
        return await interpolate(studio, cmd);
      case 'export':
        return await exportGenerator(studio, cmd);
      case 'import-model':
        return await importModel(studio, cmd);
      case 'models':
        return models(studio, cmd);
      case 'info':
        return await info(studio, cmd);
      case 'import':
        return await importDataset(studio, cmd);
      case 'datasets':
        return datasets(studio, cmd);
      case 'serve':
        return await serve(studio, cmd, pkg.version);
    }
    return EXIT.usage;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (cmd.json) json({ event: 'error', message, code: err instanceof StudioError ? err.code : 'internal' });
    process.stderr.write(`gan-studio: ${message}\n`);
    return err instanceof StudioError ? EXIT.usage : EXIT.failed;
  } finally {
    studio?.close();
  }
}
