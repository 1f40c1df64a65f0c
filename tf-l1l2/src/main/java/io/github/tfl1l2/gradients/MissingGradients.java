package io.github.tfl1l2.gradients;

import static org.tensorflow.internal.c_api.global.tensorflow.TFJ_HasGradient;
import static org.tensorflow.internal.c_api.global.tensorflow.TFJ_RegisterCustomGradient;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.TensorFlow;
import org.tensorflow.internal.c_api.TFJ_GradFuncAdapter;
import org.tensorflow.op.Ops;
import org.tensorflow.op.RawCustomGradient;

/**
 * Gradients that Python TensorFlow defines and TensorFlow's C++ gradient registry (the one {@code
 * Graph.addGradients}, and so every TF-Java optimizer, uses) lacks, registered process-wide so that
 * a training graph using these ops can be differentiated from Java.
 *
 * <table>
 *   <caption>Op types and their gradients</caption>
 *   <tr><th>op type</th><th>gradient with respect to</th></tr>
 *   <tr><td>{@code SparseSoftmaxCrossEntropyWithLogits}</td><td>logits (labels get none)</td></tr>
 *   <tr><td>{@code SparseSegmentSum}, {@code SparseSegmentMean}, {@code SparseSegmentSqrtN}, and
 *       each one's {@code …WithNumSegments} form</td><td>data (indices, segment ids and the
 *       number of segments get none)</td></tr>
 *   <tr><td>{@code TopKV2}, {@code TopK}</td><td>input ({@code k} gets none)</td></tr>
 *   <tr><td>{@code Xlogy}</td><td>both inputs, broadcasting included</td></tr>
 *   <tr><td>{@code Cumprod}</td><td>x, with {@code exclusive} and {@code reverse} (axis gets
 *       none)</td></tr>
 * </table>
 *
 * <p>Each follows Python TensorFlow's mathematics, conventions at zeros included, and works in the
 * op's own dtype: float16, bfloat16, float32 and float64 wherever TensorFlow's kernels for the op
 * take them. An input that has no gradient receives zeros of its own shape and dtype, because
 * TF-Java 1.1.0 has no way for a gradient function to say "none".
 *
 * <p>{@code L1L2.minimize} and the optimizers of {@code io.github.tfl1l2.optimizers} call {@link
 * #register()} before they build gradients; an application that calls {@code Graph.addGradients} or
 * a framework optimizer itself calls it once first.
 *
 * <p>All the op types share one native callback. TF-Java 1.1.0's {@code
 * TensorFlow.registerCustomGradient} makes a new JavaCPP callback per op type, and a process has
 * room for ten: the eleventh callback crashes the JVM the first time TensorFlow calls it (measured:
 * SIGSEGV in {@code CustomGradFunc}). Registering the same callback for every op type here leaves
 * the other nine to the application. (TF-Java 1.2.0 and later dispatch every custom gradient
 * through one callback of their own; there each op type is registered through {@code
 * TensorFlow.registerCustomGradient}.) Registration takes TF-Java's own lock ({@code
 * TensorFlow.class}), so it cannot interleave with a concurrent {@code registerCustomGradient}.
 */
public final class MissingGradients {
  private MissingGradients() {}

  /** Each op type this library can provide a gradient for, with its gradient function. */
  private static final Map<String, RawCustomGradient> GRADIENTS = gradients();

  /**
   * Whether this TF-Java routes every custom gradient through one callback of its own (1.2.0 and
   * later, which have {@code org.tensorflow.op.DispatchingGradientAdapter} and refuse any other
   * native callback): then each op type goes through {@code TensorFlow.registerCustomGradient}. The
   * tests run on 1.1.0, where it is false.
   */
  private static final boolean DISPATCHES_ITSELF =
      hasClass("org.tensorflow.op.DispatchingGradientAdapter");

  /** The op types this library registered; null until the first {@link #register()}. */
  private static Set<String> provided;

  /**
   * The one callback every registered op type shares; held here for the life of the process,
   * because TensorFlow keeps calling it.
   */
  private static TFJ_GradFuncAdapter callback;

  private static Map<String, RawCustomGradient> gradients() {
    Map<String, RawCustomGradient> g = new LinkedHashMap<>();
    g.put(
        "SparseSoftmaxCrossEntropyWithLogits",
        SparseSoftmaxCrossEntropyWithLogitsGradient::gradient);
    g.put("SparseSegmentSum", SparseSegmentSumGradient::gradient);
    g.put("SparseSegmentSumWithNumSegments", SparseSegmentSumGradient::gradient);
    g.put("SparseSegmentMean", SparseSegmentMeanGradient::gradient);
    g.put("SparseSegmentMeanWithNumSegments", SparseSegmentMeanGradient::gradient);
    g.put("SparseSegmentSqrtN", SparseSegmentSqrtNGradient::gradient);
    g.put("SparseSegmentSqrtNWithNumSegments", SparseSegmentSqrtNGradient::gradient);
    g.put("TopKV2", TopKGradient::gradient);
    g.put("TopK", TopKGradient::gradient);
    g.put("Xlogy", XlogyGradient::gradient);
    g.put("Cumprod", CumprodGradient::gradient);
    return Collections.unmodifiableMap(g);
  }

  /**
   * Registers, once per process, a gradient for each op type listed above that has none yet, and
   * returns the op types whose gradient is this library's.
   *
   * <p>A gradient registered first, by TensorFlow itself (a later version may define one) or by the
   * application through {@code TensorFlow.registerCustomGradient}, is never replaced: it stays in
   * force for that op type, and the op type is not in the returned set. So the set says which
   * gradients this library provides in this process, not which op types have one. On Windows, where
   * TF-Java 1.1.0 cannot register gradients, nothing is registered and the set is empty.
   *
   * <p>Idempotent and thread-safe: the first call registers; every call, from any thread, returns
   * the same set. An op type whose gradient someone registers after the first call keeps this
   * library's gradient (TensorFlow refuses the later one).
   *
   * @return the op types whose gradient this library registered, in the order of the table above;
   *     immutable
   */
  public static synchronized Set<String> register() {
    if (provided == null) {
      provided = registerMissing();
    }
    return provided;
  }

  private static Set<String> registerMissing() {
    if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("win")) {
      return Set.of();
    }
    Set<String> registered = new LinkedHashSet<>();
    synchronized (TensorFlow.class) {
      for (String opType : GRADIENTS.keySet()) {
        if (TFJ_HasGradient(opType)) {
          continue;
        }
        if (DISPATCHES_ITSELF) {
          if (TensorFlow.registerCustomGradient(opType, MissingGradients::dispatch)) {
            registered.add(opType);
          }
          continue;
        }
        if (callback == null) {
          callback = RawCustomGradient.adapter(MissingGradients::dispatch);
        }
        if (TFJ_RegisterCustomGradient(opType, callback)) {
          registered.add(opType);
        }
      }
    }
    return Collections.unmodifiableSet(registered);
  }

  private static boolean hasClass(String name) {
    try {
      Class.forName(name, false, MissingGradients.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException absent) {
      return false;
    }
  }

  /** Routes TensorFlow's call for one op to that op type's gradient. */
  private static List<Operand<?>> dispatch(Ops tf, GraphOperation op, List<Output<?>> upstream) {
    return GRADIENTS.get(op.type()).call(tf, op, upstream);
  }
}
