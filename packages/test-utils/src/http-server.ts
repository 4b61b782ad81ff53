import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TestServerOptions {
  /** URL path (`/tiny.zip`) -> body. */
  files: Record<string, Buffer>
  /** Honour `Range: bytes=N-` with 206 answers (default true). */
  ranges?: boolean
  /** The first `dropCount` responses send `dropAfterBytes` bytes of the body, then destroy the socket. */
  dropAfterBytes?: number
  dropCount?: number
}

export interface TestServer {
  url: string
  /** Each request's path and Range header, in order. */
  requests: { path: string; range: string | undefined }[]
  close(): Promise<void>
}

/**
 * A static file server on 127.0.0.1 (never another interface) for download tests: optional Range support and a mode
 * that cuts the connection mid-body, the way a flaky network does.
 */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const requests: TestServer['requests'] = []
  let drops = options.dropCount ?? 0
  const server = http.createServer((req, res) => {
    const urlPath = (req.url ?? '/').split('?')[0] ?? '/'
    const range = req.headers.range
    requests.push({ path: urlPath, range })
    const body = options.files[urlPath]
    if (!body) {
      res.writeHead(404).end('not found')
      return
    }
    let start = 0
    const m = /^bytes=(\d+)-$/.exec(range ?? '')
    if (m && options.ranges !== false) {
      start = Number(m[1])
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end()
        return
      }
      res.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`, 'Accept-Ranges': 'bytes' })
    } else {
      res.writeHead(200, { 'Content-Length': body.length, 'Accept-Ranges': options.ranges === false ? 'none' : 'bytes' })
    }
    const rest = body.subarray(start)
    if (drops > 0 && options.dropAfterBytes !== undefined) {
      drops--
      // end(), not destroy(): the FIN follows the bytes already written, so the client gets exactly dropAfterBytes
      // and then a connection closed before Content-Length was reached.
      res.write(rest.subarray(0, options.dropAfterBytes), () => res.socket?.end())
      return
    }
    res.end(rest)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
