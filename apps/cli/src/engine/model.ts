import { FstaError } from '@fsta/core';
import { MAX_JSON_BYTES, MAX_MODEL_BYTES, readRegularFileSync } from '@fsta/onnxruntime-node/read-file';
import { findBackbone, parseUserManifest } from '@fsta/backbones';
import type { BackboneResolution, GraphView, UserManifest } from '@fsta/backbones';
import { decodedModel, toGraphView } from '@fsta/onnx';
import type { DecodedModel } from '@fsta/onnx';

/**
 * A model as the CLI found it: read and decoded once per command (`decoded`: bytes, model
 * and fingerprint, handed to the adapter as they are), the manifest or backbone its stages
 * come from, and what that resolution says. The adapter's createDetector resolves the same
 * way from the same inputs, so the CLI and a library user get the same stages.
 */
export interface ModelSpec {
  modelPath: string;
  decoded: DecodedModel;
  /** The structural view of the model its stages were found on. */
  graph: GraphView;
  /** The user's manifest (--manifest), or null. */
  manifest: UserManifest | null;
  /** The backbone name asked for (--backbone; 'auto' by default); unused with a manifest. */
  backbone: string;
  resolution: BackboneResolution;
  /** Stage names the model has, in order (C2…C5). */
  stageNames: string[];
  /** Where the stages came from, for people: 'manifest F.json', 'backbone resnet50', … */
  source: string;
  /**
   * The output classifier scores (MSP, Energy, …) are computed from: the head's, the
   * manifest's "output", or else the first output when it is (N, classes); null for models
   * without class logits (segmenters, detectors), which then get feature scores only.
   */
  logits: string | null;
}

/** Reads a file the CLI was pointed at, with one clear error for a missing or unreadable one. */
export function readInput(path: string, what: 'model' | 'manifest', fix: string): Buffer {
  try {
    // Regular files only, size checked first: a FIFO or /dev/zero named as the model must not hang or fill memory.
    return readRegularFileSync(path, { maxBytes: what === 'model' ? MAX_MODEL_BYTES : MAX_JSON_BYTES, what });
  } catch (e) {
    if (e instanceof FstaError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new FstaError('NOT_FOUND', `cannot read ${what} ${path} (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`, fix);
  }
}

export function readManifestFile(path: string): UserManifest {
  return parseUserManifest(readInput(path, 'manifest', 'pass the path of an existing manifest JSON (`fsta inspect MODEL --write-manifest F.json` writes one)').toString('utf8'), path);
}

/** Resolves --model with --manifest or --backbone to its stages, as createDetector will. */
export function loadModelSpec(modelPath: string, options: { manifestPath?: string; backbone?: string }): ModelSpec {
  const bytes = readInput(modelPath, 'model', 'pass --model with the path of an .onnx file');
  const manifest = options.manifestPath !== undefined ? readManifestFile(options.manifestPath) : null;
  const backbone = options.backbone ?? 'auto';
  const decoded = decodedModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const graph = toGraphView(decoded.model);
  const resolution = findBackbone(graph, manifest ?? backbone);
  const stageNames = Object.entries(resolution.stages).filter(([, s]) => s).map(([name]) => name);
  const first = graph.outputs[0];
  const logits = resolution.head?.logits ?? manifest?.output ?? (first !== undefined && graph.shapes.get(first)?.length === 2 ? first : null);
  return { modelPath, decoded, graph, manifest, backbone, resolution, stageNames, source: resolution.source, logits };
}
