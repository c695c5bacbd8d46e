import { ERROR_CODES } from './error-codes';
import { METHODS } from '../attribution/index';
import { PHASES } from '../domain/phase';

const uid = { type: 'string', pattern: '^(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))*$', maxLength: 64 };
const probabilities = { $ref: '#/components/schemas/Probabilities' };
const model = { $ref: '#/components/schemas/Model' };
const probabilitiesSchema = {
  description: 'Calibrated probability of each phase',
  type: 'object',
  required: [...PHASES],
  additionalProperties: false,
  properties: Object.fromEntries(
    PHASES.map((p) => [p, { type: 'number', minimum: 0, maximum: 1 }]),
  ),
};
/** A phase, or `indeterminate` when the evidence disagrees (then `reason` says how). */
const phase = { type: 'string', enum: [...PHASES, 'indeterminate'] };

/** The service's contract, served at /api/v1/openapi.json; the tests validate responses against it. */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'PhaseLens service',
    version: '1.0.0',
    description:
      'Contrast phase of CT series in a DICOMweb PACS, with attribution maps written back as DICOM.',
  },
  paths: {
    '/api/v1/analyses': {
      post: {
        summary: 'Analyse a series (classify, compute maps, optionally write back)',
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: { $ref: '#/components/schemas/AnalysisRequest' } },
          },
        },
        responses: {
          '202': {
            description: 'Accepted (or joined an identical running analysis)',
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/AnalysisAccepted' } },
            },
          },
          '400': {
            description: 'Invalid request',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          '401': {
            description: 'Not authenticated',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          '429': {
            description: 'Queue full; see Retry-After',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        },
      },
    },
    '/api/v1/analyses/{id}': {
      get: {
        summary: 'State, progress, result or error of an analysis',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
        ],
        responses: {
          '200': {
            description: 'The analysis',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Analysis' } } },
          },
          '404': {
            description: 'Unknown analysis',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        },
      },
    },
    '/api/v1/analyses/{id}/events': {
      get: {
        summary: 'Server-Sent Events: one "analysis" event per change, until done or failed',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
        ],
        responses: { '200': { description: 'text/event-stream of Analysis objects' } },
      },
    },
    '/api/v1/series/{seriesInstanceUid}/phase': {
      get: {
        summary:
          'Latest phase of a series: from this service, or read back from the phase report in the PACS',
        parameters: [
          { name: 'seriesInstanceUid', in: 'path', required: true, schema: uid },
          {
            name: 'absent',
            in: 'query',
            required: false,
            description: "'204': answer 204 No Content instead of 404 when there is no result",
            schema: { type: 'string', enum: ['204'] },
          },
        ],
        responses: {
          '200': {
            description: 'The phase',
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/SeriesPhase' } },
            },
          },
          '204': { description: 'No result for this series (with absent=204)' },
          '404': {
            description: 'No result for this series',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          '502': {
            description: 'The PACS failed or refused',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        },
      },
    },
    '/healthz': {
      get: {
        summary: 'Process up',
        responses: {
          '200': {
            description: 'ok',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } },
          },
        },
      },
    },
    '/readyz': {
      get: {
        summary: 'Model loaded and PACS reachable',
        responses: {
          '200': {
            description: 'ready',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } },
          },
          '503': {
            description: 'not ready',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      Error: {
        type: 'object',
        required: ['error', 'code'],
        properties: {
          error: { type: 'string', description: 'one line for a person' },
          code: {
            type: 'string',
            enum: [...ERROR_CODES],
            description: 'stable: branch on this, not on the text',
          },
          requestId: { type: 'string' },
        },
      },
      Probabilities: probabilitiesSchema,
      Model: {
        description: 'The model that made a result',
        type: 'object',
        required: ['name', 'version'],
        properties: { name: { type: 'string' }, version: { type: 'string' } },
      },
      Health: {
        type: 'object',
        required: ['status'],
        properties: {
          status: { type: 'string', enum: ['ok', 'not ready'] },
          checks: { type: 'object' },
        },
      },
      AnalysisRequest: {
        type: 'object',
        required: ['studyInstanceUid', 'seriesInstanceUid'],
        additionalProperties: false,
        properties: {
          studyInstanceUid: uid,
          seriesInstanceUid: uid,
          maps: {
            description:
              'Map methods to compute (default: PHASELENS_DEFAULT_MAPS, sam unless configured)',
            type: 'array',
            maxItems: 8,
            uniqueItems: true,
            items: { type: 'string', enum: Object.keys(METHODS) },
          },
          writeBack: { type: 'boolean' },
        },
      },
      AnalysisAccepted: {
        type: 'object',
        required: ['id', 'state', 'joined'],
        properties: {
          id: { type: 'string', format: 'uuid' },
          state: { type: 'string', enum: ['queued', 'running', 'done', 'failed'] },
          joined: { type: 'boolean' },
        },
      },
      Analysis: {
        type: 'object',
        required: ['id', 'state', 'progress', 'request', 'createdAt'],
        properties: {
          id: { type: 'string', format: 'uuid' },
          state: { type: 'string', enum: ['queued', 'running', 'done', 'failed'] },
          progress: {
            type: 'object',
            required: ['stage', 'fraction'],
            properties: {
              stage: {
                type: 'string',
                enum: ['queued', 'reading', 'classifying', 'maps', 'writing', 'done', 'failed'],
              },
              fraction: { type: 'number', minimum: 0, maximum: 1 },
            },
          },
          request: { $ref: '#/components/schemas/AnalysisRequest' },
          createdAt: { type: 'string' },
          startedAt: { type: 'string' },
          finishedAt: { type: 'string' },
          error: { type: 'string' },
          errorCode: { type: 'string' },
          result: {
            type: 'object',
            required: ['phase', 'confidence', 'probabilities', 'slices', 'model', 'derivedSeries'],
            properties: {
              phase,
              leading: { type: 'string', enum: [...PHASES] },
              confidence: { type: 'number', minimum: 0, maximum: 1 },
              reason: { type: 'string' },
              warnings: { type: 'array', items: { type: 'string' } },
              probabilities,
              slices: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['index', 'probabilities'],
                  properties: { index: { type: 'integer', minimum: 0 }, probabilities },
                },
              },
              model,
              derivedSeries: {
                type: 'object',
                required: ['secondaryCaptures', 'parametricMaps'],
                properties: {
                  phaseReport: uid,
                  secondaryCaptures: { type: 'object', additionalProperties: uid },
                  parametricMaps: { type: 'object', additionalProperties: uid },
                },
              },
            },
          },
        },
      },
      SeriesPhase: {
        type: 'object',
        required: ['seriesInstanceUid', 'phase', 'probabilities', 'model', 'source'],
        properties: {
          seriesInstanceUid: uid,
          phase,
          probabilities,
          model,
          source: { type: 'string', enum: ['service', 'pacs'] },
          analysisId: { type: 'string' },
        },
      },
    },
  },
} as const;
