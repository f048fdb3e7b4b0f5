import { Router, type Request, type Response } from 'express';
import type { Logger } from '../../runtime/log.ts';
import { AuthenticationError, bearerToken, type Authenticator, type Origin } from '../auth/origin.ts';
import { BadRequestError, decompress, mediaType, readBody, type BodyLimits } from '../http/body.ts';
import { sendError } from '../http/status.ts';
import { RefusedError, type Intake } from '../intake.ts';
import {
  createExportResponse,
  decodeJson,
  decodeProtobuf,
  encodeResponseJson,
  encodeResponseProtobuf,
  OTLP_HTTP_PATHS,
  OTLP_SIGNALS,
  OtlpDecodeError,
  type OtlpSignal,
} from './codec.ts';

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

export interface HttpReceiverDeps {
  intake: Intake;
  authenticator: Authenticator;
  limits: BodyLimits;
  log: Logger;
}

/**
 * OTLP/HTTP: `POST /v1/traces`, `/v1/metrics`, `/v1/logs` with protobuf or JSON bodies, gzip or not.
 * Answers in the request's encoding: the export response (with partial success when items were
 * dropped), or a `google.rpc.Status` with the status codes the OTLP specification assigns.
 */
export function otlpHttpRoutes(deps: HttpReceiverDeps): Router {
  const router = Router();
  for (const signal of OTLP_SIGNALS) {
    router.post(OTLP_HTTP_PATHS[signal], (req, res) => handle(signal, req, res, deps));
  }
  return router;
}

async function handle(signal: OtlpSignal, req: Request, res: Response, deps: HttpReceiverDeps): Promise<void> {
  const receiver = 'otlp_http';
  const type = mediaType(req.headers['content-type']);
  const protobuf = type === PROTOBUF;
  let origin: Origin | undefined;
  try {
    origin = deps.authenticator.authenticate({ bearer: bearerToken(req.headers.authorization) });
    if (!protobuf && type !== JSON_TYPE) {
      throw new BadRequestError(`unsupported Content-Type "${type || '(none)'}"; OTLP/HTTP takes ${PROTOBUF} or ${JSON_TYPE}`, 415);
    }
    const body = decompress(await readBody(req, deps.limits), req.headers['content-encoding'], deps.limits);
    const request = protobuf ? decodeProtobuf(signal, body) : decodeJson(signal, body);
    const result = await deps.intake.accept(receiver, signal, request, origin);
    const response = createExportResponse(signal, result.rejected, result.rejectedReason ?? '');
    if (protobuf) res.status(200).type(PROTOBUF).send(Buffer.from(encodeResponseProtobuf(signal, response)));
    else res.status(200).type(JSON_TYPE).send(encodeResponseJson(signal, response));
  } catch (err) {
    if (err instanceof AuthenticationError) {
      deps.intake.refused(receiver, 'unauthenticated');
      sendError(res, 401, err.message, { protobuf });
    } else if (err instanceof BadRequestError) {
      deps.intake.refused(receiver, err.status === 413 ? 'too_large' : err.status === 415 ? 'unsupported_media_type' : 'bad_request', origin);
      sendError(res, err.status, err.message, { protobuf });
    } else if (err instanceof OtlpDecodeError) {
      deps.intake.refused(receiver, 'decode_error', origin);
      sendError(res, 400, err.message, { protobuf });
    } else if (err instanceof RefusedError) {
      const status = !err.retryable ? 400 : err.reason === 'rate_limited' ? 429 : 503;
      sendError(res, status, err.message, { protobuf, retryAfterSeconds: err.retryAfterSeconds });
    } else {
      deps.log.error({ err, signal }, 'OTLP/HTTP request failed');
      sendError(res, 503, `internal error: ${(err as Error).message}; retry later`, { protobuf, retryAfterSeconds: 5 });
    }
  }
}
