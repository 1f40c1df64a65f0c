package io.github.tfl1l2;

import io.github.tfl1l2.internal.Devices;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.DeviceSpec;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.TensorFlow;
import org.tensorflow.op.Ops;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Fill;
import org.tensorflow.op.core.StopGradient;
import org.tensorflow.op.core.Unstack;
import org.tensorflow.op.dtypes.Cast;
import org.tensorflow.op.math.Add;
import org.tensorflow.types.family.TType;

/**
 * The surrogate through which the penalty's gradient is {@code upstream · (c1 · sign(w) + 2 · c2 ·
 * w)} per weight, built by {@link FusedGradient} as one fused computation that reads {@code w} once
 * and writes the gradient once, and the registration that makes TensorFlow call it.
 *
 * <p><b>Mechanism.</b> In a graph, the penalty's value leaves {@link PenaltyGraph} through a
 * surrogate node: an {@code IdentityN} whose input 0 is the penalty behind a {@code StopGradient}
 * and whose other inputs are the parameter reads (one surrogate per device, on that device, so that
 * no weight leaves its device); it carries the coefficients as node attributes ({@link
 * #COEFFICIENTS_ATTR}, …). Its output 0 is the penalty, unchanged and not copied. This class
 * registers, once per process, TF-Java's {@code TensorFlow.registerCustomGradient} for the op type
 * {@code IdentityN}, which has no gradient of its own in TensorFlow's C++ registry. When {@code
 * Graph.addGradients} (so {@code Optimizer.minimize} and {@code computeGradients}) reaches the
 * surrogate, that function returns, for each parameter read, the fused expression above, and the
 * gradient builder never enters the forward ops: their only way back is the {@code StopGradient},
 * which sends no gradient, so no {@code Abs}/{@code Square}/{@code Sum}/{@code Reshape} gradient is
 * even built. An {@code IdentityN} without the attributes (one a user built) gets the identity
 * gradient, which is what {@code IdentityN} means.
 *
 * <p><b>Why.</b> TensorFlow's generic gradient of the forward ops builds a gradient op for each of
 * them and writes every intermediate in full; through the surrogate a penalty-only step is one
 * fused loop per weight, about three times faster. Up to {@link PenaltyGraph#ENTRIES_PER_CLUSTER}
 * weights share one XLA cluster: one launch, in which XLA still emits one loop per weight. The
 * price is one surrogate input per parameter in every forward evaluation. The measurements that
 * chose this are in the project's docs/design.md ("The surrogate gradient") and
 * docs/performance.md.
 *
 * <p>If {@code IdentityN} already has a gradient when this class first tries (another library
 * registered one, or a later TensorFlow defines it), or registration is unsupported (Windows),
 * {@link #available()} is false and {@link PenaltyGraph} emits no surrogate: TensorFlow's generic
 * gradient then trains with the same values, only slower.
 */
final class GradientSurrogate {
  private GradientSurrogate() {}

  /** The op type of the surrogate node. */
  static final String SURROGATE_TYPE = "IdentityN";

  /** {@code "c1 c2"}: the coefficients of Σ|w| and Σw², weight included, as exact decimals. */
  static final String COEFFICIENTS_ATTR = "_tfl1l2_coefficients";

  /** Whether the gradient computations are XLA-marked. */
  static final String XLA_ATTR = "_tfl1l2_xla";

  /** Whether output 0 is one value per parameter ({@link Reduction#NONE}) rather than a scalar. */
  static final String PER_PARAMETER_ATTR = "_tfl1l2_per_parameter";

  /** For each read input, its parameter's position in a per-parameter output 0. */
  static final String POSITIONS_ATTR = "_tfl1l2_positions";

  /**
   * How many parameters the penalty covers, on all devices: the length of a per-parameter output 0.
   * Recorded, like the positions, because the gradient function cannot ask for shapes: TensorFlow
   * holds the graph's lock while it builds gradients, and a shape query from the callback waits on
   * it forever.
   */
  static final String PARAMETERS_ATTR = "_tfl1l2_parameters";

  /** The most parameter reads one surrogate takes. */
  static final int SURROGATE_INPUTS = 64;

  private static Boolean owned;

  /**
   * Whether this process's {@code IdentityN} gradient is this class's; registers it on the first
   * call.
   */
  static synchronized boolean available() {
    if (owned == null) {
      boolean registered;
      try {
        registered = TensorFlow.registerCustomGradient(SURROGATE_TYPE, GradientSurrogate::gradient);
      } catch (UnsupportedOperationException notOnThisPlatform) {
        registered = false;
      }
      owned = registered;
    }
    return owned;
  }

  /**
   * Returns {@code penalty} routed through surrogates whose gradient with respect to each of {@code
   * reads} is the fused penalty gradient: one surrogate per device the reads live on, placed there,
   * so that only scalars (or per-parameter vectors) cross devices, never a weight.
   *
   * @param reads the parameter reads the penalty was computed from, in order
   * @param spec the penalty's coefficients, whether its gradient is XLA-marked, and whether {@code
   *     penalty} has one entry per read
   */
  @SuppressWarnings("unchecked")
  static <T extends TType> Operand<T> attach(
      Scope scope, Operand<T> penalty, List<? extends Operand<?>> reads, PenaltySpec spec) {
    Map<String, List<Integer>> byDevice = new LinkedHashMap<>();
    Map<String, DeviceSpec> devices = new LinkedHashMap<>();
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (int i = 0; i < reads.size(); i++) {
      DeviceSpec device = Devices.deviceOf(reads.get(i));
      // At most SURROGATE_INPUTS reads per surrogate: TensorFlow's first run of a graph grows
      // quadratically with one node's number of inputs (one surrogate over 10 000 small
      // variables: 266 s against 14 s without it).
      int count = counts.merge(String.valueOf(device), 1, Integer::sum) - 1;
      String key = device + "#" + count / SURROGATE_INPUTS;
      byDevice.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
      devices.put(key, device);
    }
    Operand<T> stopped = StopGradient.create(scope, penalty);
    if (byDevice.size() == 1) {
      // Placed beside the weights when they share one device, so that none is sent elsewhere.
      return (Operand<T>)
          surrogate(
              scope,
              stopped,
              reads,
              byDevice.values().iterator().next(),
              devices.values().iterator().next(),
              spec);
    }
    // One surrogate per device, each passing on a zero made on its device; only those scalars
    // (vectors for per-parameter penalties) cross devices, into the sum.
    long[] shape = spec.perParameter() ? new long[] {reads.size()} : new long[0];
    Operand<T> total = stopped;
    for (Map.Entry<String, List<Integer>> group : byDevice.entrySet()) {
      DeviceSpec device = devices.get(group.getKey());
      Scope local = Devices.on(scope, device);
      // Fill, not Zeros: Zeros opens a sub-scope, which TF-Java 1.1.0 makes unique by scanning
      // the whole graph (10 000 variables, 157 surrogates: 60 s to build instead of 2.5 s).
      Operand<T> zero =
          Fill.create(
              local,
              Constant.vectorOf(local, shape),
              Cast.create(local, Constant.scalarOf(local, 0f), penalty.type()));
      Operand<T> routed =
          (Operand<T>) surrogate(scope, zero, reads, group.getValue(), device, spec);
      total = Add.create(scope, total, routed);
    }
    return total;
  }

  private static Output<?> surrogate(
      Scope scope,
      Operand<?> value,
      List<? extends Operand<?>> reads,
      List<Integer> members,
      DeviceSpec device,
      PenaltySpec spec) {
    Output<?>[] inputs = new Output<?>[members.size() + 1];
    long[] positions = new long[members.size()];
    inputs[0] = value.asOutput();
    for (int j = 0; j < members.size(); j++) {
      inputs[j + 1] = reads.get(members.get(j)).asOutput();
      positions[j] = members.get(j);
    }
    return Devices.on(scope, device)
        .opBuilder(SURROGATE_TYPE, "gradient_surrogate")
        .addInputList(inputs)
        .setAttr(COEFFICIENTS_ATTR, spec.c1() + " " + spec.c2())
        .setAttr(XLA_ATTR, spec.xla())
        .setAttr(PER_PARAMETER_ATTR, spec.perParameter())
        .setAttr(POSITIONS_ATTR, positions)
        .setAttr(PARAMETERS_ATTR, (long) reads.size())
        .build()
        .output(0);
  }

  /**
   * The registered gradient of {@code IdentityN}. Nothing may be thrown back into TensorFlow's
   * native gradient builder: on an unexpected failure no gradients are returned, and TensorFlow's
   * {@code addGradients} fails with "Invalid gradient output index".
   */
  private static List<Operand<?>> gradient(Ops tf, GraphOperation op, List<Output<?>> upstream) {
    String coefficients = coefficientsOf(op);
    if (coefficients == null) {
      // A user's IdentityN: each output is its input, so each input gets its output's gradient
      // (TensorFlow has already replaced missing ones by zeros).
      return new ArrayList<>(upstream);
    }
    try {
      return penaltyGradient(tf.scope(), op, upstream.get(0), coefficients);
    } catch (RuntimeException unexpected) {
      return List.of();
    }
  }

  private static List<Operand<?>> penaltyGradient(
      Scope scope, GraphOperation surrogate, Output<?> upstream, String coefficients) {
    String[] c = coefficients.split(" ");
    double c1 = Double.parseDouble(c[0]);
    double c2 = Double.parseDouble(c[1]);
    boolean xla = surrogate.attributes().getAttrBool(XLA_ATTR);
    boolean perParameter = surrogate.attributes().getAttrBool(PER_PARAMETER_ATTR);
    long[] positions = surrogate.attributes().getAttrIntList(POSITIONS_ATTR);
    int count = surrogate.numInputs() - 1;
    List<Output<TType>> perParameterUpstream = null;
    if (perParameter) {
      long length = surrogate.attributes().getAttrInt(PARAMETERS_ATTR);
      perParameterUpstream = Unstack.create(scope, Plumbing.erase(upstream), length).output();
    }
    List<FusedGradient.Term> terms = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      Operand<?> dy = perParameter ? perParameterUpstream.get((int) positions[i]) : upstream;
      terms.add(new FusedGradient.Term(surrogate.input(i + 1), dy, null, c1, c2));
    }
    List<Operand<?>> gradients = new ArrayList<>(count + 1);
    // Input 0 is the penalty behind a StopGradient, or a zero constant: whatever it is given
    // goes nowhere.
    gradients.add(upstream);
    gradients.addAll(FusedGradient.build(scope, terms, xla));
    return gradients;
  }

  private static String coefficientsOf(GraphOperation op) {
    try {
      return op.attributes().getAttrString(COEFFICIENTS_ATTR);
    } catch (RuntimeException absent) {
      return null;
    }
  }
}
