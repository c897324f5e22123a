import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { accountOf } from '../auth.js';
import type { ServerContext } from '../context.js';
import { fileNotFoundBody } from '../models/index.js';
import { HttpProblem, sendProblem } from '../problem.js';
import { newUploadId } from '../store/ids.js';
import { timestampOf } from '../store/timestamps.js';
import type { UploadedFile } from '../types.js';
import { serveStream, wantsEventStream } from './streams.js';

// The files API (replicate-api.md §15): uploads the clients make for file inputs; an account sees its own.

export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
/** Uploads are inputs: kept a day, as Replicate does. */
const UPLOAD_LIFETIME_MS = 24 * 3600 * 1000;

export function fileJson(f: UploadedFile, publicUrl: string): Record<string, unknown> {
  return {
    id: f.id,
    name: f.name,
    content_type: f.contentType,
    size: f.size,
    etag: f.md5,
    checksums: { sha256: f.sha256, md5: f.md5 },
    metadata: f.metadata,
    created_at: f.createdAt,
    expires_at: f.expiresAt,
    urls: { get: `${publicUrl}/v1/files/${f.id}` },
  };
}

export function registerFileRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/files', async (request, reply) => {
    if (!request.isMultipart()) throw badUpload('expected a multipart/form-data body with a "content" part');
    let content: { name: string; type: string; bytes: Buffer } | undefined;
    let metadata: Record<string, unknown> = {};
    for await (const part of request.parts()) {
      if (part.type === 'file' && part.fieldname === 'content') {
        content = { name: part.filename || 'file', type: part.mimetype || 'application/octet-stream', bytes: await part.toBuffer() };
      } else if (part.type === 'file' && part.fieldname === 'metadata') metadata = parseMetadata((await part.toBuffer()).toString('utf8'));
      else if (part.type === 'field' && part.fieldname === 'metadata') metadata = parseMetadata(String(part.value));
      else if (part.type === 'file') await part.toBuffer();
    }
    if (!content) throw badUpload('no "content" part: the file goes in a part named "content"');
    const created = new Date();
    const file: UploadedFile = {
      id: newUploadId(),
      account: accountOf(request),
      name: content.name,
      contentType: content.type,
      size: content.bytes.length,
      sha256: createHash('sha256').update(content.bytes).digest('hex'),
      md5: createHash('md5').update(content.bytes).digest('hex'),
      metadata,
      createdAt: timestampOf(created.getTime()),
      expiresAt: timestampOf(created.getTime() + UPLOAD_LIFETIME_MS),
    };
    await ctx.store.createUpload(file, content.bytes);
    return reply.code(201).send(fileJson(file, ctx.publicUrl));
  });

  app.get('/files', async (request) => {
    const files = await ctx.store.listUploads(accountOf(request));
    return { next: null, previous: null, results: files.map((f) => fileJson(f, ctx.publicUrl)) };
  });

  // urls.stream lives here too (the JS client wraps stream outputs as files only under /v1/files/, §13): told
  // apart by its Accept header, and reached without a token.
  app.get<{ Params: { id: string } }>('/files/:id', { config: { public: wantsEventStream } }, async (request, reply) => {
    if (wantsEventStream(request)) return serveStream(ctx, request.params.id, request, reply);
    const found = await ctx.store.getUpload(request.params.id);
    if (!found || found.file.account !== accountOf(request)) return sendProblem(reply, 404, fileNotFoundBody());
    return fileJson(found.file, ctx.publicUrl);
  });

  // The file's bytes, to its owner (the OAS's signed-URL form of this route is not needed by any client).
  app.get<{ Params: { id: string } }>('/files/:id/download', async (request, reply) => {
    const found = await ctx.store.getUpload(request.params.id);
    if (!found || found.file.account !== accountOf(request)) return sendProblem(reply, 404, fileNotFoundBody());
    return reply
      .type(found.file.contentType)
      .header('content-length', found.bytes.length)
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(found.file.name)}`)
      .header('cache-control', 'private, max-age=3600')
      .send(Buffer.from(found.bytes));
  });

  app.delete<{ Params: { id: string } }>('/files/:id', async (request, reply) => {
    const found = await ctx.store.getUpload(request.params.id);
    if (!found || found.file.account !== accountOf(request)) return sendProblem(reply, 404, fileNotFoundBody());
    await ctx.store.deleteUpload(request.params.id);
    return reply.code(204).send();
  });
}

function parseMetadata(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badUpload('the "metadata" part is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badUpload('the "metadata" part must be a JSON object');
  return value as Record<string, unknown>;
}

function badUpload(detail: string): HttpProblem {
  return new HttpProblem(400, { title: 'Bad request', detail, status: 400 });
}
