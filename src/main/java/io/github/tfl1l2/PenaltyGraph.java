package io.github.tfl1l2;

import io.github.tfl1l2.xla.XlaScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tensorflow.DeviceSpec;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Identity;
import org.tensorflow.op.core.Stack;
import org.tensorflow.op.core.Zeros;
import org.tensorflow.op.debugging.CheckNumerics;
import org.tensorflow.op.dtypes.Cast;
import org.tensorflow.op.math.AddN;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;
import org.tensorflow.types.family.TType;

/** Builds the ops of one {@link L1L2} penalty under its own name scope. */
final class PenaltyGraph {
  private PenaltyGraph() {}

  static <T extends TFloating> Operand<T> emit(
      L1L2 config, Scope outer, List<Parameter> parameters, Class<T> type) {
    Scope scope = outer.withSubScope(config.name());
    boolean vector = config.reduction() == Reduction.NONE;
    if (config.isZero() || parameters.isEmpty()) {
      long[] shape = vector ? new long[] {parameters.size()} : new long[0];
      return Zeros.create(scope, Constant.vectorOf(scope, shape), type);
    }
    Scope compute =
        config.xla() && scope.env().isGraph()
            ? XlaScope.wrap(scope, scope.makeOpName("xla_cluster"))
            : scope;
    Class<? extends TFloating> total = totalAccumulator(parameters, type);
    double c1 = config.weight() * config.l1();
    double c2 = config.weight() * config.l2();

    List<Operand<TType>> partials = new ArrayList<>(parameters.size());
    for (Parameter parameter : parameters) {
      DeviceSpec device = deviceOf(parameter.operand());
      Scope plain = device == null ? scope : scope.withDevice(device);
      Scope local = device == null ? compute : compute.withDevice(device);
      Operand<? extends TFloating> x = read(plain, local, parameter, config.checkNumerics());
      Operand<? extends TFloating> partial = PartialSums.weighted(local, x, c1, c2);
      partials.add(erase(castIfNeeded(local, partial, total)));
    }
    Operand<TType> combined =
        vector
            ? Stack.create(compute, partials)
            : partials.size() == 1 ? partials.get(0) : AddN.create(compute, partials);
    return castIfNeeded(compute, combined, type);
  }

  /**
   * Reads {@code parameter} in its accumulator dtype. The read goes through an unmarked
   * {@code Identity}: gradients taken straight through a ref variable crash TensorFlow's
   * {@code SquareGrad}, and an XLA cluster takes values, not refs.
   */
  @SuppressWarnings("unchecked")
  private static Operand<? extends TFloating> read(
      Scope plain, Scope compute, Parameter parameter, boolean checkNumerics) {
    Operand<TType> value = (Operand<TType>) parameter.operand();
    if (plain.env().isGraph()) {
      value = Identity.create(plain, value);
    }
    if (checkNumerics) {
      value =
          erase(
              CheckNumerics.create(
                  plain,
                  (Operand<TFloating>) (Operand<?>) value,
                  "L1L2 parameter \"" + parameter.name() + "\" holds NaN or Inf"));
    }
    return castIfNeeded(compute, value, FloatingTypes.accumulatorOf(parameter.dtype()));
  }

  /**
   * The device a graph parameter is pinned to: that of its op, or of the variable behind an
   * unpinned {@code Identity}/{@code ReadVariableOp} chain. Null when nothing is pinned, the
   * operand is eager, or the device string does not parse. Building the read and the partial sum
   * there keeps the weights on their device: only the scalar partial sum crosses devices.
   */
  static DeviceSpec deviceOf(Operand<?> operand) {
    Output<?> output = operand.asOutput();
    while (output.op() instanceof GraphOperation op) {
      if (!op.device().isEmpty()) {
        return parseDevice(op.device());
      }
      boolean read = op.type().equals("Identity") || op.type().equals("ReadVariableOp");
      if (!read || op.numInputs() != 1) {
        return null;
      }
      output = op.input(0);
    }
    return null;
  }

  /**
   * Parses {@code /job:J/replica:R/task:T/device:TYPE:INDEX} (any part optional, the legacy
   * {@code /gpu:1} form too); null for a type {@link DeviceSpec} lacks, e.g. {@code XLA_CPU}.
   */
  static DeviceSpec parseDevice(String device) {
    DeviceSpec.Builder spec = DeviceSpec.newBuilder();
    try {
      for (String part : device.split("/")) {
        String[] f = part.split(":");
        switch (f[0].toLowerCase(Locale.ROOT)) {
          case "" -> {}
          case "job" -> spec.job(f[1]);
          case "replica" -> spec.replica(Integer.valueOf(f[1]));
          case "task" -> spec.task(Integer.valueOf(f[1]));
          default -> {
            int t = f[0].equalsIgnoreCase("device") ? 1 : 0;
            spec.deviceType(DeviceSpec.DeviceType.valueOf(f[t].toUpperCase(Locale.ROOT)));
            boolean indexed = f.length > t + 1 && !f[t + 1].equals("*");
            spec.deviceIndex(indexed ? Integer.valueOf(f[t + 1]) : null);
          }
        }
      }
    } catch (RuntimeException unparsable) {
      return null;
    }
    return spec.build();
  }

  private static Class<? extends TFloating> totalAccumulator(
      List<Parameter> parameters, Class<? extends TFloating> resultType) {
    if (resultType == TFloat64.class) {
      return TFloat64.class;
    }
    for (Parameter parameter : parameters) {
      if (FloatingTypes.accumulatorOf(parameter.dtype()) == TFloat64.class) {
        return TFloat64.class;
      }
    }
    return FloatingTypes.accumulatorOf(FloatingTypes.dataTypeOf(resultType));
  }

  @SuppressWarnings("unchecked")
  private static Operand<TType> erase(Operand<?> operand) {
    return (Operand<TType>) operand;
  }

  @SuppressWarnings("unchecked")
  private static <U extends TType> Operand<U> castIfNeeded(
      Scope scope, Operand<?> value, Class<U> type) {
    if (value.type() == type) {
      return (Operand<U>) value;
    }
    return Cast.create(scope, value, type);
  }
}
