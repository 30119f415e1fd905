/**
 * The memory a VM gets for a function's memory size. Nanos runs a VM with
 * less than 64 MB of usable memory in a low-memory mode (1 MB heap pages,
 * a 4 MB reserve); above that its kernel takes 2 MB pages for each of its
 * heaps and an 8 MB reserve, so a VM of 68-96 MB leaves the program less
 * room than one of 64 MB: Python fails to start there ("page fill failed",
 * measured with qemu 7.2 and Nanos b9c3671: 64-67 MB boot, 68-96 MB fail
 * or fail often, 100 MB and up boot). Sizes in that gap get the smallest
 * size measured to boot reliably, so a function never gets less than it
 * asked for, nor a VM that cannot start.
 */
export const LOW_MEMORY_MAX_MB = 66;
export const SMALLEST_NORMAL_MB = 112;

export function vmMemoryMb(requested: number): number {
  return requested > LOW_MEMORY_MAX_MB && requested < SMALLEST_NORMAL_MB
    ? SMALLEST_NORMAL_MB
    : requested;
}
