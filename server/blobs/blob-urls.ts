/**
 * Signed URLs for blobs: browsers upload and download the bytes directly (S3 presigned URLs),
 * or through the relay's own signed endpoint when the store is a local directory.
 */

export interface UploadSpec {
  size: number
  contentType: string
  sha256: string
}

export interface SignedUpload {
  url: string
  method: 'PUT'
  /** Send exactly these headers: the size and the content type are part of the signature. */
  headers: Record<string, string>
  expiresAt: string
}

export interface SignedDownload {
  url: string
  expiresAt: string
}

export interface BlobUrlSigner {
  uploadUrl(key: string, spec: UploadSpec, ttlSeconds: number): Promise<SignedUpload>
  downloadUrl(key: string, ttlSeconds: number): Promise<SignedDownload>
}

export function expiryOf(ttlSeconds: number): { at: number; iso: string } {
  const at = Date.now() + ttlSeconds * 1000
  return { at, iso: new Date(at).toISOString() }
}
