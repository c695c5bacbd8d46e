import { useEffect, useState } from 'preact/hooks';
import { headline, stripSlice } from '../panel-state';
import { COLOR_MAPS, type ColorMapName } from '../ohif/overlay';
import { PHASES, type Phase, type SliceProbabilities } from '../types';
import { BUTTON, MUTED_TEXT, PHASE_COLOURS, TEXT } from './colours';
import type { PanelController, PanelView } from './controller';

const LABELS: Record<Phase, string> = {
  'non-contrast': 'Non-contrast',
  arterial: 'Arterial',
  'portal-venous': 'Portal-venous',
  delayed: 'Delayed',
};

const pct = (p: number) => `${Math.round(p * 100)}%`;

const styles = {
  panel: `padding:10px;color:${TEXT};font:13px/1.4 system-ui,sans-serif`,
  button: `background:${BUTTON.background};color:${BUTTON.text};border:1px solid #8fb0ff;border-radius:4px;padding:4px 12px;cursor:pointer;font:inherit`,
  quiet: `background:transparent;color:${TEXT};border:1px solid #8a94a8;border-radius:4px;padding:4px 12px;cursor:pointer;font:inherit`,
};

function topPhase(s: SliceProbabilities): Phase {
  return PHASES.reduce((a, b) => (s.probabilities[b] > s.probabilities[a] ? b : a));
}

function Strip({ view }: { view: PanelView }) {
  const state = view.state;
  if (state.kind !== 'result' || state.slices.length === 0) return null;
  const current = stripSlice(state);
  return (
    <div>
      <div style="margin:8px 0 2px">Per slice (the viewport's slice is outlined)</div>
      <div
        data-testid="phaselens-strip"
        data-current-slice={current?.index ?? ''}
        data-viewport-slice={state.viewportSlice ?? ''}
        role="list"
        aria-label="Phase per analysed slice"
        style="display:flex;height:22px;gap:1px"
      >
        {state.slices.map((s) => {
          const phase = topPhase(s);
          const isCurrent = current?.index === s.index;
          return (
            <div
              key={s.index}
              role="listitem"
              aria-current={isCurrent ? 'true' : undefined}
              title={`Slice ${s.index + 1}: ${LABELS[phase]} ${pct(s.probabilities[phase])}`}
              data-slice={s.index}
              style={`flex:1;background:${PHASE_COLOURS[phase]};opacity:${0.35 + 0.65 * s.probabilities[phase]};outline:${isCurrent ? '2px solid #fff' : 'none'};outline-offset:-1px`}
            />
          );
        })}
      </div>
    </div>
  );
}

/** A 0..1 setting as a percentage slider (arrow keys, Home and End move it). */
function Percent(props: {
  label: string;
  value: number;
  max: number;
  onChange: (value: number) => void;
}) {
  return (
    <label style="display:block;margin-top:4px">
      {props.label}{' '}
      <input
        type="range"
        min={0}
        max={props.max}
        value={Math.round(props.value * 100)}
        onInput={(e) => props.onChange(+e.currentTarget.value / 100)}
      />
    </label>
  );
}

function Result({ view, controller }: { view: PanelView; controller: PanelController }) {
  const state = view.state;
  if (state.kind !== 'result') return null;
  const { summary } = state;
  const maps = Object.keys(state.derivedSeries?.parametricMaps ?? {});
  return (
    <div>
      <div
        data-testid="phaselens-phase"
        data-phase={summary.phase}
        data-confidence={summary.confidence}
        style={`font-size:20px;font-weight:600;color:${PHASE_COLOURS[summary.phase]};margin:6px 0`}
      >
        {headline(summary)}
      </div>
      {summary.reason && (
        <div data-testid="phaselens-reason" style={`color:${MUTED_TEXT};margin-bottom:4px`}>
          {summary.reason}
        </div>
      )}
      {state.source === 'pacs' && (
        <div data-testid="phaselens-source">Tagged automatically; read from the archive.</div>
      )}
      <table style="width:100%;border-collapse:collapse;margin-top:6px" aria-label="Probabilities">
        <tbody>
          {PHASES.map((p) => (
            <tr key={p}>
              <th scope="row" style="text-align:left;font-weight:normal;width:45%">
                {LABELS[p]}
              </th>
              <td style="width:40%">
                <div
                  role="meter"
                  aria-label={`${LABELS[p]} probability`}
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={Math.round(summary.probabilities[p] * 100)}
                  style="background:#1d2435;height:8px"
                >
                  <div
                    style={`background:${PHASE_COLOURS[p]};height:8px;width:${pct(summary.probabilities[p])}`}
                  />
                </div>
              </td>
              <td style="text-align:right">{pct(summary.probabilities[p])}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Strip view={view} />
      {maps.length > 0 && (
        <fieldset style="border:1px solid #3a4358;margin-top:10px;padding:6px">
          <legend>What the classifier looked at</legend>
          {maps.map((name) => (
            <button
              key={name}
              type="button"
              data-testid={`phaselens-map-${name}`}
              aria-pressed={view.overlay === name}
              disabled={view.overlayBusy}
              onClick={() => void controller.toggleMap(name)}
              style={`${view.overlay === name ? styles.button : styles.quiet};margin:2px`}
            >
              {name.toUpperCase().replace('-', ' @ ')}
            </button>
          ))}
          {view.overlayBusy && <div role="status">Loading the map…</div>}
          {view.overlayError && <div role="alert">{view.overlayError}</div>}
          <Percent
            label="Opacity"
            value={view.style.opacity}
            max={100}
            onChange={(opacity) => controller.setStyle({ opacity })}
          />
          <Percent
            label="Threshold"
            value={view.style.threshold}
            max={50}
            onChange={(threshold) => controller.setStyle({ threshold })}
          />
          <label style="display:block">
            Colour map{' '}
            <select
              style={`background:#1d2435;color:${TEXT};border:1px solid #8a94a8`}
              value={view.style.colormap}
              onChange={(e) =>
                controller.setStyle({ colormap: e.currentTarget.value as ColorMapName })
              }
            >
              {COLOR_MAPS.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        </fieldset>
      )}
      <div style={`margin-top:8px;color:${MUTED_TEXT}`}>
        {summary.model.name} {summary.model.version}. Research use only.
      </div>
    </div>
  );
}

export function PhasePanel({ controller }: { controller: PanelController }) {
  const [view, setView] = useState<PanelView | undefined>(undefined);
  useEffect(() => controller.subscribe(setView), [controller]);
  if (!view) return null;
  const { state } = view;
  return (
    <section
      style={styles.panel}
      aria-label="PhaseLens contrast phase"
      data-testid="phaselens-panel"
    >
      <h2 style="font-size:15px;margin:0 0 6px">Contrast phase</h2>
      {state.kind === 'no-series' && <p>Open a CT series to see its contrast phase.</p>}
      {view.series && (
        <div style={`color:${MUTED_TEXT};margin-bottom:4px`}>
          {view.series.description ?? 'Series'}
        </div>
      )}
      {view.series && view.series.modality && view.series.modality !== 'CT' && (
        <p>PhaseLens reads CT series; this one is {view.series.modality}.</p>
      )}
      {state.kind === 'checking' && <p role="status">Looking for a stored result…</p>}
      {state.kind === 'analysing' && (
        <div role="status" data-testid="phaselens-progress">
          <div>
            Analysing: {state.stage} ({pct(state.fraction)})
          </div>
          <progress max={1} value={state.fraction} style="width:100%" />
          {state.note && <div>{state.note}</div>}
        </div>
      )}
      {state.kind === 'error' && (
        <p role="alert" data-testid="phaselens-error">
          {state.message}
        </p>
      )}
      {state.kind === 'idle' && state.note && <p role="status">{state.note}</p>}
      <Result view={view} controller={controller} />
      {view.series && view.series.modality === 'CT' && (
        <div style="margin-top:10px">
          {state.kind === 'analysing' ? (
            <button type="button" style={styles.quiet} onClick={() => controller.cancel()}>
              Cancel
            </button>
          ) : (
            <button
              type="button"
              style={styles.button}
              data-testid="phaselens-analyse"
              disabled={state.kind === 'checking'}
              onClick={() => void controller.analyse()}
            >
              {state.kind === 'result' ? 'Analyse again' : 'Analyse'}
            </button>
          )}
        </div>
      )}
    </section>
  );
}
