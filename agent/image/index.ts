export { ImageCache, type ImageCacheOptions } from './cache';
export { ImagePullError } from '../../shared/registry/errors';
export type { ImageConfig, ImageSource, PreparedImage } from './types';
