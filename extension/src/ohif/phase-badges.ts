import type { PhaseLensClient } from '../api';
import { headline } from '../panel-state';
import { PHASE_COLOURS } from '../panel/colours';
import type { PhaseSummary } from '../types';
import type { PanelProps, Subscription } from './types';

/**
 * A phase badge on each CT series' thumbnail in the study browser once a result exists (stored
 * in the PACS or just analysed). OHIF 3.13 has no slot for thumbnail badges, so the badge is
 * added to the thumbnail element (id "thumbnail-<display set UID>") and put back whenever
 * React re-renders the browser without it.
 */
export class PhaseBadges {
  private readonly bySeries = new Map<string, PhaseSummary>();
  private readonly asked = new Set<string>();
  private readonly subscriptions: Subscription[] = [];
  private readonly observer: MutationObserver;
  private scheduled = false;

  constructor(
    private readonly props: Pick<PanelProps, 'servicesManager'>,
    private readonly client: PhaseLensClient,
  ) {
    const { displaySetService } = props.servicesManager.services;
    this.subscriptions.push(
      displaySetService.subscribe(displaySetService.EVENTS.DISPLAY_SETS_ADDED, () => this.ask()),
    );
    this.observer = new MutationObserver(() => this.schedule());
    this.observer.observe(document.body, { childList: true, subtree: true });
    this.ask();
  }

  /** A result for a series (from the panel): badge it now. */
  set(seriesInstanceUid: string, summary: PhaseSummary): void {
    this.bySeries.set(seriesInstanceUid, summary);
    this.asked.add(seriesInstanceUid);
    this.schedule();
  }

  /** Asks the service once per CT series of the open studies whether it has a phase. */
  private ask(): void {
    const { displaySetService } = this.props.servicesManager.services;
    for (const ds of displaySetService.getActiveDisplaySets()) {
      const uid = ds.SeriesInstanceUID;
      if (ds.Modality !== 'CT' || this.asked.has(uid)) continue;
      this.asked.add(uid);
      this.client.storedPhase(uid).then(
        (summary) => summary && this.set(uid, summary),
        () => this.asked.delete(uid), // try again on the next change
      );
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.paint();
    });
  }

  private paint(): void {
    const { displaySetService } = this.props.servicesManager.services;
    for (const [uid, summary] of this.bySeries) {
      for (const ds of displaySetService.getDisplaySetsForSeries(uid)) {
        const thumbnail = document.getElementById(`thumbnail-${ds.displaySetInstanceUID}`);
        if (!thumbnail) continue;
        const text = headline(summary);
        let badge = thumbnail.querySelector<HTMLElement>('[data-phaselens-badge]');
        if (badge?.textContent === text) continue;
        if (!badge) {
          badge = document.createElement('span');
          badge.setAttribute('data-phaselens-badge', '');
          badge.setAttribute('role', 'note');
          thumbnail.style.position = 'relative';
          thumbnail.appendChild(badge);
        }
        badge.textContent = text;
        badge.title = `PhaseLens: ${text}`;
        badge.setAttribute('data-phase', summary.phase);
        badge.setAttribute(
          'style',
          `position:absolute;top:4px;right:4px;padding:1px 5px;border-radius:3px;` +
            `font:600 11px system-ui,sans-serif;background:#0b0f1a;color:${PHASE_COLOURS[summary.phase]};` +
            `border:1px solid ${PHASE_COLOURS[summary.phase]};pointer-events:none`,
        );
      }
    }
  }

  dispose(): void {
    this.observer.disconnect();
    for (const s of this.subscriptions) s.unsubscribe();
  }
}
