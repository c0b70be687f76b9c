/**
 * Presigned S3 URLs (SigV4 in the query string). The content length and type are signed
 * headers, so the server refuses a body of another size or type; the URLs name the public
 * endpoint (S3_PUBLIC_ENDPOINT) because the host is part of the signature.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { expiryOf, type BlobUrlSigner, type SignedDownload, type SignedUpload, type UploadSpec } from './blob-urls.js'

export interface S3SignerOptions {
  publicEndpoint?: string
  region: string
  accessKeyId?: string
  secretAccessKey?: string
  bucket: string
  forcePathStyle: boolean
}

const SIGNED_UPLOAD_HEADERS = new Set(['content-length', 'content-type'])

export class S3UrlSigner implements BlobUrlSigner {
  private readonly client: S3Client

  constructor(private readonly options: S3SignerOptions) {
    this.client = new S3Client({
      endpoint: options.publicEndpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials:
        options.accessKeyId && options.secretAccessKey ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } : undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })
  }

  async uploadUrl(key: string, spec: UploadSpec, ttlSeconds: number): Promise<SignedUpload> {
    const command = new PutObjectCommand({ Bucket: this.options.bucket, Key: key, ContentLength: spec.size, ContentType: spec.contentType })
    const url = await getSignedUrl(this.client, command, { expiresIn: ttlSeconds, signableHeaders: SIGNED_UPLOAD_HEADERS })
    return { url, method: 'PUT', headers: { 'content-type': spec.contentType }, expiresAt: expiryOf(ttlSeconds).iso }
  }

  async downloadUrl(key: string, ttlSeconds: number): Promise<SignedDownload> {
    const url = await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), { expiresIn: ttlSeconds })
    return { url, expiresAt: expiryOf(ttlSeconds).iso }
  }

  close(): void {
    this.client.destroy()
  }
}
