/**
 * No container engine runs on the development and CI machines, so the compose file and the
 * Dockerfile are checked by reading them: what the relay needs is set, and ports line up.
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { npmStartArgs } from '../bench/servers.js'
import { configSchema, loadConfig } from '../server/config.js'
import { ROOT } from './support/relay.js'

interface Service {
  image?: string
  build?: string
  environment?: Record<string, string>
  ports?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
  command?: string[] | string
}

async function compose(): Promise<{ services: Record<string, Service> }> {
  return parse(await readFile(`${ROOT}docker-compose.yml`, 'utf8')) as { services: Record<string, Service> }
}

describe('docker-compose.yml', () => {
  it('runs the relay built from this repo against MinIO, with a one-shot bucket creator', async () => {
    const { services } = await compose()
    expect(Object.keys(services).sort()).toEqual(['minio', 'minio-init', 'relay'])
    expect(services.relay!.build).toBe('.')
    expect(services.minio!.image).toMatch(/^minio\/minio:RELEASE\.\d{4}-/)
    expect(services['minio-init']!.image).toMatch(/^minio\/mc:RELEASE\.\d{4}-/)
    expect(services.relay!.depends_on?.['minio-init']?.condition).toBe('service_completed_successfully')
    expect(services['minio-init']!.depends_on?.minio?.condition).toBe('service_healthy')
  })

  it('gives the relay a valid configuration that points at MinIO with MinIO’s credentials and bucket', async () => {
    const { services } = await compose()
    const env = services.relay!.environment!
    for (const name of Object.keys(env)) expect(Object.keys(configSchema.shape), name).toContain(name)
    const config = loadConfig(env)
    const minioEnv = services.minio!.environment!
    expect(config.S3_ENDPOINT).toBe('http://minio:9000')
    expect(config.S3_ACCESS_KEY_ID).toBe(minioEnv.MINIO_ROOT_USER)
    expect(config.S3_SECRET_ACCESS_KEY).toBe(minioEnv.MINIO_ROOT_PASSWORD)
    expect(config.S3_FORCE_PATH_STYLE).toBe(true)
    const init = String(services['minio-init']!.command)
    expect(init).toContain(`mc mb --ignore-existing local/${config.S3_BUCKET}`)
    expect(init).toContain(`${minioEnv.MINIO_ROOT_USER} ${minioEnv.MINIO_ROOT_PASSWORD}`)
    expect(config.HOST).toBe('0.0.0.0')
    expect(services.relay!.ports).toContain(`${config.PORT}:${config.PORT}`)
    expect(services.relay!.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${config.PORT}/healthz`)
  })
})

describe('Dockerfile', () => {
  it('is multi-stage, runs as a non-root user, exposes the relay port and checks /healthz', async () => {
    const dockerfile = await readFile(`${ROOT}Dockerfile`, 'utf8')
    const { services } = await compose()
    const port = loadConfig(services.relay!.environment!).PORT
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2)
    expect(dockerfile).toMatch(/^USER (?!root)\w+/m)
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${port}$`, 'm'))
    expect(dockerfile).toMatch(new RegExp(`HEALTHCHECK[\\s\\S]*127\\.0\\.0\\.1:${port}/healthz`))
    expect(dockerfile).toMatch(/npm ci --omit=dev/)
    for (const dir of ['server', 'shared', 'bin', 'client']) expect(dockerfile).toContain(`COPY ${dir} ./${dir}`)
    // It runs what `npm run build` compiled, with the node flags `npm start` uses.
    expect(dockerfile).toMatch(/^RUN npm run build$/m)
    expect(dockerfile).toContain('COPY --from=deps /app/dist ./dist')
    const args = await npmStartArgs()
    expect(args.slice(-2)).toEqual(['dist/server/cli.js', 'serve'])
    expect(dockerfile).toContain(`CMD [${['node', ...args].map((arg) => JSON.stringify(arg)).join(', ')}]`)
  })
})
