/** The OHIF extension id; its panel is `${EXTENSION_ID}.panelModule.phase`. */
export const EXTENSION_ID = '@phaselens/extension';
export const PANEL_ID = `${EXTENSION_ID}.panelModule.phase`;
