export { ImageCache, type ImageCacheOptions } from './cache';
export { ImagePullError } from './errors';
export type { ImageConfig, ImageSource, PreparedImage } from './types';
