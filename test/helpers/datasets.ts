// Small synthetic datasets for engine tests: deterministic pixel patterns, optional labels.
import type { ImageDataset } from '../../src/shared/types';

export function syntheticDataset(count: number, size: number, channels: 1 | 3, classes = 0): ImageDataset {
  const pixels = new Uint8Array(count * size * size * channels);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < size * size * channels; i++) {
      // A different smooth gradient per image, so batches differ and shuffling matters.
      pixels[n * size * size * channels + i] = (i * (n + 3) + n * 17) % 256;
    }
  }
  return {
    count,
    height: size,
    width: size,
    channels,
    pixels,
    labels: classes > 0 ? Int32Array.from({ length: count }, (_, i) => i % classes) : null,
    classNames: Array.from({ length: classes }, (_, i) => `class ${i}`),
    source: 'synthetic',
  };
}
