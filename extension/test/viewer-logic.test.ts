import { opacityPoints, storedMaximum } from '../src/ohif/overlay';
import { sliceIndexBySop, sopInstanceOfImageId } from '../src/ohif/slices';
import { viewerAppConfig, PANEL_ID } from '../../server/src/viewer/app-config';
import { EXTENSION_ID } from '../src/ids';
import { BUTTON, contrastRatio, MUTED_TEXT, PHASE_COLOURS, TEXT } from '../src/panel/colours';

describe('the extension logic that needs no browser', () => {
  it('finds the SOP Instance UID in WADO-RS image ids, and nothing in others', () => {
    expect(
      sopInstanceOfImageId('wadors:/dicom-web/studies/1.2/series/1.3/instances/1.2.3.4/frames/1'),
    ).toBe('1.2.3.4');
    expect(sopInstanceOfImageId('wadouri:http://x/file.dcm')).toBeUndefined();
  });

  it('numbers slices along the slice normal, lowest first, whatever order OHIF lists them in', () => {
    const axial = [1, 0, 0, 0, 1, 0];
    const images = [30, -10, 10].map((z, i) => ({
      SOPInstanceUID: `1.${i}`,
      SeriesInstanceUID: 's',
      StudyInstanceUID: 't',
      ImagePositionPatient: [0, 0, z],
      ImageOrientationPatient: axial,
    }));
    expect([...sliceIndexBySop(images)]).toEqual([
      ['1.1', 0],
      ['1.2', 1],
      ['1.0', 2],
    ]);
    // Feet-first orientation flips the normal (row x column = -z): the order flips with it.
    const flipped = images.map((i) => ({ ...i, ImageOrientationPatient: [-1, 0, 0, 0, 1, 0] }));
    expect(sliceIndexBySop(flipped).get('1.0')).toBe(0);
  });

  it('makes the overlay transparent below the threshold and opaque a tenth of the range above', () => {
    const points = opacityPoints({ colormap: 'jet', opacity: 0.8, threshold: 0.2 }, 2);
    const at = (v: number) => {
      // Linear between points, as the volume mapper's transfer function.
      for (let i = 1; i < points.length; i++)
        if (v <= points[i].value) {
          const a = points[i - 1];
          const b = points[i];
          return a.opacity + ((v - a.value) / (b.value - a.value || 1)) * (b.opacity - a.opacity);
        }
      return points[points.length - 1].opacity;
    };
    expect(at(0)).toBe(0);
    expect(at(0.39)).toBe(0);
    expect(at(0.6)).toBeCloseTo(0.8, 6);
    expect(at(2)).toBeCloseTo(0.8, 6);
    expect(at(0.5)).toBeGreaterThan(0.4);
    expect(points.map((p) => p.value)).toEqual(
      [...points.map((p) => p.value)].sort((a, b) => a - b),
    );
  });

  it("reads a map's maximum from its Real World Value Mapping, 16-bit or float", () => {
    const pm = (mapping: Record<string, number>) => ({
      SharedFunctionalGroupsSequence: [{ RealWorldValueMappingSequence: [mapping] }],
    });
    expect(storedMaximum(pm({ RealWorldValueLastValueMapped: 65535 }))).toBe(65535);
    expect(storedMaximum(pm({ DoubleFloatRealWorldValueLastValueMapped: 2.5 }))).toBe(2.5);
    // OHIF may hand sequences of one item as the item itself.
    expect(
      storedMaximum({
        SharedFunctionalGroupsSequence: {
          RealWorldValueMappingSequence: { DoubleFloatRealWorldValueLastValueMapped: 7 },
        },
      }),
    ).toBe(7);
  });

  it('writes an app-config that loads the extension and adds its panel to every mode', () => {
    const js = viewerAppConfig({ serviceUrl: 'https://phaselens.example' });
    const window: { config?: Record<string, unknown> } = {};
    new Function('window', js)(window);
    const config = window.config as {
      extensions: string[];
      customizationService: { mode: Record<string, { rightPanels: { $unshift: string[] } }> };
      phaselens: { serviceUrl: string };
      dataSources: { configuration: { qidoRoot: string } }[];
    };
    expect(config.extensions).toEqual(['/phaselens/extension.mjs']);
    expect(config.customizationService.mode['*'].rightPanels.$unshift).toEqual([PANEL_ID]);
    expect(PANEL_ID.startsWith(`${EXTENSION_ID}.panelModule.`)).toBe(true);
    expect(config.phaselens.serviceUrl).toBe('https://phaselens.example');
    expect(config.dataSources[0].configuration.qidoRoot).toBe('/dicom-web');
  });
});

describe('readable contrast', () => {
  // OHIF 3.13's panel backgrounds: black and its dark navy.
  const backgrounds = ['#000000', '#090c29'];

  it('gives every phase colour and text colour at least 4.5:1 on the panel backgrounds', () => {
    for (const bg of backgrounds)
      for (const colour of [...Object.values(PHASE_COLOURS), TEXT, MUTED_TEXT])
        expect([colour, bg, contrastRatio(colour, bg) >= 4.5]).toEqual([colour, bg, true]);
    expect(contrastRatio(BUTTON.text, BUTTON.background)).toBeGreaterThanOrEqual(4.5);
  });

  it('measures contrast as WCAG does', () => {
    expect(contrastRatio('#ffffff', '#000000')).toBeCloseTo(21, 6);
    expect(contrastRatio('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });
});
