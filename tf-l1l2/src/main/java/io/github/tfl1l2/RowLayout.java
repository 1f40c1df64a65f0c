package io.github.tfl1l2;

import org.tensorflow.Operand;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Bitcast;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Reshape;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TType;

/**
 * The rows-of-32 layout that every fused reduction of this package reads a weight in: a
 * length-{@code n} vector (or each row of a {@code [k, n]} matrix) viewed as {@code [n/32, 32]},
 * reduced over the row of 32 first, with a ragged end of {@code n % 32} elements apart.
 *
 * <p>Why 32: XLA's CPU pipeline rewrites a reduction over a dimension longer than 32 into a {@code
 * reduce-window} that no elementwise producer fuses into, and fuses an elementwise producer only
 * into a reduction over the minor dimension. A reduction over a minor dimension of exactly 32
 * passes both, so the loop that reduces a row reads each element once and writes nothing of full
 * size. Both the penalty ({@link PartialSums}) and the per-parameter sums ({@link ParameterSums})
 * take their rows from here.
 */
final class RowLayout {
  private RowLayout() {}

  /**
   * The width of the inner reduction: XLA's CPU tree-reduction rewriter leaves reduced dimensions
   * of at most this size alone.
   */
  static final int ROW = 32;

  /** Elements per row of 32-bit words in {@link #bfloat16Words}: two bfloat16 per word. */
  static final int WORD_ROW_ELEMENTS = 2 * ROW;

  /**
   * A tensor split along its last dimension: {@code rows}, its first {@code 32·⌊n/32⌋} elements
   * viewed as {@code [(k,) n/32, 32]}, and {@code tail}, the last {@code n % 32} elements ({@code
   * [(k,) n % 32]}), or null when {@code n} is a multiple of 32.
   */
  record Split<T extends TType>(Operand<T> rows, Operand<T> tail) {}

  /**
   * Splits {@code x} ({@code [n]}, or {@code [k, n]} with {@code rows}; or already viewed by {@link
   * #view}) into whole rows of 32 and a ragged tail. A ragged end is sliced off rather than padded:
   * padding would be a full-size copy (XLA does not fuse a pad into its consumer), slicing is free.
   *
   * @param n the known length of the last dimension, {@code > 32}
   * @param k the known number of rows when {@code rows}
   */
  static <T extends TType> Split<T> split(Scope scope, Operand<T> x, long k, long n, boolean rows) {
    long chunks = n / ROW;
    long aligned = chunks * ROW;
    long rest = n - aligned;
    Operand<T> body = rest == 0 ? x : Plumbing.slice(scope, x, k, rows, 0, aligned);
    long[] shape = rows ? new long[] {k, chunks, ROW} : new long[] {chunks, ROW};
    if (body.shape().numDimensions() != shape.length) {
      body = Reshape.create(scope, body, Constant.vectorOf(scope, shape));
    }
    return new Split<>(body, rest == 0 ? null : Plumbing.slice(scope, x, k, rows, aligned, rest));
  }

  /**
   * Views {@code x} ({@code [n]} or {@code [k, n]}) as rows of 32 when {@code n > 32} is a multiple
   * of 32, else returns it unchanged. Built in an unmarked scope this reshape costs nothing, and it
   * keeps training cheap: the gradients of {@code Abs} and {@code Square} read their input, and an
   * input produced inside the XLA cluster would have to be written out by the cluster in full.
   */
  static <T extends TType> Operand<T> view(
      Scope plain, Operand<T> x, long k, long n, boolean rows) {
    if (n <= ROW || n % ROW != 0) {
      return x;
    }
    long[] shape = rows ? new long[] {k, n / ROW, ROW} : new long[] {n / ROW, ROW};
    return Reshape.create(plain, x, Constant.vectorOf(plain, shape));
  }

  /**
   * How many zeros make a joined group of {@code n} elements whole rows: 0 when {@code n <= 32} or
   * {@code n} is a multiple of 32. Where the group is concatenated anyway, the zeros cost nothing
   * extra and let it take the free {@link #view} instead of a ragged tail.
   */
  static long padding(long n) {
    return n <= ROW || n % ROW == 0 ? 0 : ROW - n % ROW;
  }

  /**
   * Views a flat bfloat16 tensor of {@code n} elements, {@code n} a multiple of {@link
   * #WORD_ROW_ELEMENTS}, as rows of 32 int32 words, each holding two weights. {@code Bitcast}
   * shares the buffer, so this view, built in an unmarked scope, costs nothing.
   */
  static Operand<TInt32> bfloat16Words(Scope plain, Operand<TType> x, long n) {
    Operand<TType> pairs =
        Reshape.create(plain, x, Constant.vectorOf(plain, new long[] {n / 2, 2}));
    Operand<TInt32> words = Bitcast.create(plain, pairs, TInt32.class);
    return Reshape.create(
        plain, words, Constant.vectorOf(plain, new long[] {n / WORD_ROW_ELEMENTS, ROW}));
  }
}
