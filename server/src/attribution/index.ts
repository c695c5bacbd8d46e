import { InvalidInputError } from '../errors';
import { cam } from './cam';
import { MAP_LAYERS, type MapLayer } from '../model/inference/phase-graph';
import { gradcam } from './gradcam';
import { guided } from './guided';
import { integratedGradients } from './integrated-gradients';
import { occlusion } from './occlusion';
import { saliency } from './saliency';
import { sam } from './sam';
import { smoothgrad } from './smoothgrad';
import type { AttributionMethod } from './types';

export const METHODS: Record<string, AttributionMethod> = Object.fromEntries(
  [cam, gradcam, saliency, guided, sam, integratedGradients, smoothgrad, occlusion].map((m) => [
    m.name,
    m,
  ]),
);

/** The five maps of the paper, the default set. */
export const PAPER_METHODS = ['cam', 'gradcam', 'saliency', 'guided', 'sam'] as const;

/**
 * Whether `name` names a map method: an own key of METHODS only, so inherited names such as
 * "__proto__" or "toString" are not taken for methods.
 */
export function isMapName(name: unknown): name is string {
  return typeof name === 'string' && Object.hasOwn(METHODS, name);
}

/**
 * Map names from a comma-separated setting (PHASELENS_DEFAULT_MAPS, PHASELENS_WATCH_MAPS, ...):
 * the names, and a line for each unknown one.
 */
export function mapNamesFrom(
  list: string,
  setting: string,
): { names: string[]; problems: string[] } {
  const names = list
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const problems = names
    .filter((m) => !isMapName(m))
    .map((m) => `${setting}: unknown map "${m}" (known: ${Object.keys(METHODS).join(', ')})`);
  return { names: [...new Set(names)], problems };
}

/** Parses a comma-separated method list, naming what is unknown. */
export function parseMethods(list: string): AttributionMethod[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((name) => {
      const m = isMapName(name) ? METHODS[name] : undefined;
      if (!m)
        throw new InvalidInputError(
          `unknown map method "${name}" (known: ${Object.keys(METHODS).join(', ')})`,
        );
      return m;
    });
}

export function parseLayer(name: string): MapLayer {
  if (!(MAP_LAYERS as readonly string[]).includes(name))
    throw new InvalidInputError(`unknown layer "${name}" (known: ${MAP_LAYERS.join(', ')})`);
  return name as MapLayer;
}

/** The layer a method uses, given a request (methods without layers ignore it). */
export function layerFor(method: AttributionMethod, requested?: MapLayer): MapLayer | undefined {
  if (!method.layers) return undefined;
  if (requested && method.layers.includes(requested)) return requested;
  return method.defaultLayer;
}

export type { AttributionMethod } from './types';
export { PhaseGraph, MAP_LAYERS, type MapLayer } from '../model/inference/phase-graph';
