import { render, h } from 'preact';
import { PhaseLensClient } from './api';
import { EXTENSION_ID, PANEL_ID } from './ids';
import { PhaseBadges } from './ohif/phase-badges';
import { PanelController } from './panel/controller';
import { PhasePanel } from './panel/PhasePanel';
import { reactHost } from './ohif/react-host';
import type { ExtensionParams, PanelProps, PhaseLensConfiguration } from './ohif/types';

/** Configuration from app-config.js (`window.config.phaselens`), read when OHIF loads us. */
function configuration(): PhaseLensConfiguration {
  const w = globalThis as { config?: { phaselens?: PhaseLensConfiguration } };
  return w.config?.phaselens ?? {};
}

/** The service client: the configured token, else the viewer's own sign-in passed on. */
export function clientFor(
  config: PhaseLensConfiguration,
  services: ExtensionParams['servicesManager']['services'],
): PhaseLensClient {
  const auth = services.userAuthenticationService;
  return new PhaseLensClient({
    baseUrl: config.serviceUrl ?? '/phaselens',
    authorization: () =>
      config.apiToken ? `Bearer ${config.apiToken}` : auth?.getAuthorizationHeader()?.Authorization,
  });
}

/** What lives as long as a viewer mode: one service client, and the thumbnail badges. */
let client: PhaseLensClient | undefined;
let badges: PhaseBadges | undefined;

function modeClient(services: ExtensionParams['servicesManager']['services']): PhaseLensClient {
  client ??= clientFor(configuration(), services);
  return client;
}

/** The panel's UI (Preact) inside the div OHIF's React gives it. */
function phasePanel() {
  let controller: PanelController | undefined;
  let node: HTMLElement | undefined;
  return {
    mount(el: HTMLElement, props: PanelProps) {
      node = el;
      const config = configuration();
      controller = new PanelController(
        props,
        config,
        modeClient(props.servicesManager.services),
        (series, summary) => badges?.set(series, summary),
      );
      render(h(PhasePanel, { controller }), el);
    },
    update() {
      // The controller follows OHIF's services itself; new props carry nothing it needs.
    },
    unmount() {
      if (node) render(null, node);
      controller?.dispose();
      controller = undefined;
    },
  };
}

const PhasePanelHost = reactHost<PanelProps>(phasePanel, { 'data-phaselens': 'panel' });

const extension = {
  id: EXTENSION_ID,
  getPanelModule: ({ servicesManager, commandsManager, extensionManager }: ExtensionParams) => [
    {
      name: 'phase',
      iconName: 'tab-linear',
      iconLabel: 'Phase',
      label: 'PhaseLens',
      // OHIF renders panel components with its own props; ours also need the managers.
      component: (props: Record<string, unknown>) =>
        hostElement({ ...props, servicesManager, commandsManager, extensionManager }),
    },
  ],
  /** Opens the panel once the study's viewports are ready, so the phase is in sight. */
  onModeEnter: ({ servicesManager }: ExtensionParams) => {
    const services = servicesManager.services as ExtensionParams['servicesManager']['services'] & {
      panelService?: PanelService;
    };
    badges?.dispose();
    client = clientFor(configuration(), services);
    badges = new PhaseBadges({ servicesManager }, client);
    const grid = services.viewportGridService;
    const ready = grid.subscribe(grid.EVENTS.VIEWPORTS_READY, () => {
      ready.unsubscribe();
      services.panelService?.activatePanel(PANEL_ID, true);
    });
  },
  onModeExit: () => {
    badges?.dispose();
    badges = undefined;
    client = undefined;
  },
};

interface PanelService {
  activatePanel(panelId: string, forceActive?: boolean): void;
}

/** A React element for the host class, as a plain object (see ohif/react-host). */
function hostElement(props: PanelProps) {
  return {
    $$typeof: Symbol.for('react.element'),
    type: PhasePanelHost,
    key: null,
    ref: null,
    props,
    _owner: null,
  };
}

export default extension;
