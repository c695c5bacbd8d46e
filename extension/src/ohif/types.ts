/**
 * The part of OHIF 3.13's run-time API that the extension uses, typed from @ohif/core 3.13
 * (platform/core/src/services). The package itself is not a dependency: its types are its
 * TypeScript sources, which need cornerstone and React to check, and a run-time extension must
 * not import it anyway (it uses the services OHIF hands it).
 */
export interface Subscription {
  unsubscribe: () => void;
}

export interface PubSub<Events extends Record<string, string>> {
  EVENTS: Events;
  subscribe(event: string, callback: (payload: unknown) => void): Subscription;
}

/** A naturalised DICOM instance as OHIF stores it (only the attributes read here). */
export interface InstanceMetadata {
  SOPInstanceUID: string;
  SeriesInstanceUID: string;
  StudyInstanceUID: string;
  Modality?: string;
  ImagePositionPatient?: number[];
  ImageOrientationPatient?: number[];
  imageId?: string;
}

export interface DisplaySet {
  displaySetInstanceUID: string;
  SeriesInstanceUID: string;
  StudyInstanceUID: string;
  Modality?: string;
  SeriesDescription?: string;
  images?: InstanceMetadata[];
  instances?: InstanceMetadata[];
  isOverlayDisplaySet?: boolean;
  /** The one instance of a multi-frame object (Parametric Map), naturalised. */
  instance?: Record<string, unknown>;
  referencedSeriesInstanceUID?: string;
}

export interface DisplaySetService extends PubSub<{
  DISPLAY_SETS_ADDED: string;
  DISPLAY_SETS_CHANGED: string;
}> {
  getDisplaySetByUID(uid: string): DisplaySet | undefined;
  getDisplaySetsForSeries(seriesInstanceUid: string): DisplaySet[];
  getActiveDisplaySets(): DisplaySet[];
}

export interface ViewportGridState {
  activeViewportId: string | null;
  viewports: Map<string, { viewportId: string; displaySetInstanceUIDs: string[] }>;
}

export interface ViewportGridService extends PubSub<{
  ACTIVE_VIEWPORT_ID_CHANGED: string;
  GRID_STATE_CHANGED: string;
  VIEWPORTS_READY: string;
}> {
  getState(): ViewportGridState;
  getDisplaySetsUIDsForViewport(viewportId: string): string[];
}

export interface UserAuthenticationService {
  getAuthorizationHeader(): { Authorization?: string } | undefined;
}

export interface UINotificationService {
  show(options: { title: string; message: string; type?: 'info' | 'success' | 'error' }): void;
}

export interface ServicesManager {
  services: {
    displaySetService: DisplaySetService;
    viewportGridService: ViewportGridService;
    userAuthenticationService?: UserAuthenticationService;
    uiNotificationService?: UINotificationService;
  };
}

export interface CommandsManager {
  runCommand(name: string, options?: Record<string, unknown>, context?: string): unknown;
}

/** The data source's retrieval API (extensions/default DicomWebDataSource). */
export interface DataSource {
  retrieve: {
    series: {
      metadata(options: {
        StudyInstanceUID: string;
        filters?: { seriesInstanceUID?: string[] };
        madeInClient?: boolean;
      }): Promise<unknown>;
    };
  };
  deleteStudyMetadataPromise?: (key: string) => void;
  getConfig?: () => { name?: string };
}

export interface ExtensionManager {
  getActiveDataSource(): DataSource[];
}

export interface ExtensionParams {
  servicesManager: ServicesManager;
  commandsManager: CommandsManager;
  extensionManager: ExtensionManager;
  configuration?: PhaseLensConfiguration;
}

/** What app-config.js may set: `extensions: [['/phaselens/extension.mjs', {...}]]` is not
 * supported by run-time loading, so the configuration comes from `window.config.phaselens`. */
export interface PhaseLensConfiguration {
  /** The service root: '/phaselens' behind the viewer's proxy (same origin) or a full URL (CORS). */
  serviceUrl?: string;
  /** A service token for trusted networks; by default the viewer's own sign-in is passed on. */
  apiToken?: string;
  /** The maps to ask for when analysing (default: the service's). */
  maps?: string[];
}

/** The props OHIF passes to a panel component. */
export interface PanelProps {
  servicesManager: ServicesManager;
  commandsManager: CommandsManager;
  extensionManager: ExtensionManager;
}
