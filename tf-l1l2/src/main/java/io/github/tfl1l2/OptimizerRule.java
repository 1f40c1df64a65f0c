package io.github.tfl1l2;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.framework.optimizers.AdaGrad;
import org.tensorflow.framework.optimizers.Adam;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.framework.optimizers.Momentum;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.optimizers.RMSProp;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.AssignSubVariableOp;
import org.tensorflow.op.core.AssignVariableOp;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.ReadVariableOp;
import org.tensorflow.op.core.ResourceScatterAdd;
import org.tensorflow.op.core.ResourceScatterSub;
import org.tensorflow.op.core.Size;
import org.tensorflow.op.math.Add;
import org.tensorflow.op.math.Div;
import org.tensorflow.op.math.Mul;
import org.tensorflow.op.math.Sqrt;
import org.tensorflow.op.math.Sub;
import org.tensorflow.op.math.UnsortedSegmentSum;
import org.tensorflow.op.train.ResourceApplyAdam;
import org.tensorflow.op.train.ResourceApplyCenteredRmsProp;
import org.tensorflow.op.train.ResourceApplyGradientDescent;
import org.tensorflow.op.train.ResourceApplyMomentum;
import org.tensorflow.op.train.ResourceApplyRmsProp;
import org.tensorflow.op.train.ResourceSparseApplyAdagrad;
import org.tensorflow.op.train.ResourceSparseApplyCenteredRmsProp;
import org.tensorflow.op.train.ResourceSparseApplyMomentum;
import org.tensorflow.op.train.ResourceSparseApplyRmsProp;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * A framework optimizer's update rule, applied to resource variables with the {@code
 * ResourceApply*} twin of the ref kernel the optimizer itself applies ({@code ApplyAdam} → {@code
 * ResourceApplyAdam}, …), with the same hyperparameters, slots (names and initial values) and
 * options, so that a resource variable follows the trajectory a ref variable would.
 *
 * <p>The framework's optimizers have no hyperparameter getters. Their public {@code toString()}
 * prints every hyperparameter in TF-Java 1.1.0, with {@code Float.toString}, which {@code
 * Float.parseFloat} reads back exactly; reading private fields by reflection would break without a
 * word on a rename and needs {@code --add-opens} where the framework is a named module. Only the
 * five classes themselves are accepted: a subclass may override {@code applyDense} or {@code
 * toString}, and then neither the rule nor the printed values can be trusted.
 */
record OptimizerRule(Kind kind, Map<String, String> settings) {

  /** The mapped optimizer classes, their {@code toString} keys, and their slots. */
  enum Kind {
    GRADIENT_DESCENT(GradientDescent.class, List.of("learningRate")),
    MOMENTUM(Momentum.class, List.of("learningRate", "momentum", "useNesterov")),
    ADAM(Adam.class, List.of("learningRate", "betaOne", "betaTwo", "epsilon")),
    ADA_GRAD(AdaGrad.class, List.of("learningRate", "initialAccumulatorValue")),
    RMS_PROP(RMSProp.class, List.of("learningRate", "decay", "momentum", "epsilon", "centered"));

    final Class<? extends Optimizer> type;
    final List<String> keys;

    Kind(Class<? extends Optimizer> type, List<String> keys) {
      this.type = type;
      this.keys = keys;
    }
  }

  /** One slot: the framework's slot name (the variable is named {@code <var>-<name>}). */
  record Slot(String name, float initialValue) {}

  private static final Pattern PRINTED = Pattern.compile("^(\\w+)\\{(.*)\\}$");

  /**
   * The rule of {@code optimizer}.
   *
   * @throws IllegalArgumentException naming the type, if it is not one of the five mapped classes
   */
  static OptimizerRule of(Optimizer optimizer) {
    Kind kind = null;
    for (Kind k : Kind.values()) {
      if (optimizer.getClass() == k.type) {
        kind = k;
      }
    }
    if (kind == null) {
      throw new IllegalArgumentException(
          "optimizer is a "
              + optimizer.getClass().getName()
              + ", which L1L2.minimize cannot apply to resource variables; allowed are exactly"
              + " GradientDescent, Momentum, Adam, AdaGrad and RMSProp of"
              + " org.tensorflow.framework.optimizers (not subclasses)");
    }
    String printed = optimizer.toString();
    Matcher m = PRINTED.matcher(printed);
    Map<String, String> settings = new LinkedHashMap<>();
    if (m.matches() && m.group(1).equals(kind.type.getSimpleName())) {
      for (String pair : m.group(2).split(", ")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          settings.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
      }
    }
    if (!settings.keySet().equals(Set.copyOf(kind.keys))) {
      throw new IllegalArgumentException(
          "optimizer "
              + optimizer.getClass().getName()
              + " printed \""
              + printed
              + "\", not its hyperparameters "
              + kind.keys
              + " as TF-Java 1.1.0 does; L1L2.minimize reads them from there");
    }
    OptimizerRule rule = new OptimizerRule(kind, Map.copyOf(settings));
    for (String key : kind.keys) {
      // Fails early on a value that does not parse.
      if (key.equals("useNesterov") || key.equals("centered")) {
        rule.flag(key);
      } else {
        rule.number(key);
      }
    }
    return rule;
  }

  float number(String key) {
    String value = settings.get(key);
    try {
      return Float.parseFloat(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          kind.type.getSimpleName() + " printed " + key + "=" + value + ", not a float", e);
    }
  }

  boolean flag(String key) {
    String value = settings.get(key);
    if (!"true".equals(value) && !"false".equals(value)) {
      throw new IllegalArgumentException(
          kind.type.getSimpleName() + " printed " + key + "=" + value + ", not true or false");
    }
    return Boolean.parseBoolean(value);
  }

  /** The slots the framework creates for each variable, in its order. */
  List<Slot> slots() {
    return switch (kind) {
      case GRADIENT_DESCENT -> List.of();
      case MOMENTUM -> List.of(new Slot("momentum", 0f));
      case ADAM -> List.of(new Slot("m", 0f), new Slot("v", 0f));
      case ADA_GRAD -> List.of(new Slot("accumulator", number("initialAccumulatorValue")));
      case RMS_PROP ->
          flag("centered")
              ? List.of(new Slot("rms", 1f), new Slot("momentum", 0f), new Slot("mg", 0f))
              : List.of(new Slot("rms", 1f), new Slot("momentum", 0f));
    };
  }

  /** Whether the rule reads Adam's {@code beta1_power} and {@code beta2_power}. */
  boolean usesPowers() {
    return kind == Kind.ADAM;
  }

  /**
   * Builds the update of one variable.
   *
   * @param scope where the update op and its constants are built
   * @param handle the variable's resource handle
   * @param slots the slot handles, in {@link #slots()} order
   * @param gradient the gradient, in the variable's dtype
   * @param powers Adam's {@code beta1_power} and {@code beta2_power} values (float32), else null
   */
  <T extends TType> Operation apply(
      Scope scope,
      Operand<?> handle,
      List<? extends Operand<?>> slots,
      Operand<T> gradient,
      List<? extends Operand<TFloat32>> powers) {
    Class<T> type = gradient.type();
    return switch (kind) {
      case GRADIENT_DESCENT ->
          ResourceApplyGradientDescent.create(
                  scope,
                  handle,
                  hyper(scope, "learningRate", type),
                  gradient,
                  ResourceApplyGradientDescent.useLocking(true))
              .op();
      case MOMENTUM ->
          ResourceApplyMomentum.create(
                  scope,
                  handle,
                  slots.get(0),
                  hyper(scope, "learningRate", type),
                  gradient,
                  hyper(scope, "momentum", type),
                  ResourceApplyMomentum.useNesterov(flag("useNesterov")),
                  ResourceApplyMomentum.useLocking(true))
              .op();
      case ADAM ->
          ResourceApplyAdam.create(
                  scope,
                  handle,
                  slots.get(0),
                  slots.get(1),
                  Plumbing.castIfNeeded(scope, powers.get(0), type),
                  Plumbing.castIfNeeded(scope, powers.get(1), type),
                  hyper(scope, "learningRate", type),
                  hyper(scope, "betaOne", type),
                  hyper(scope, "betaTwo", type),
                  hyper(scope, "epsilon", type),
                  gradient,
                  ResourceApplyAdam.useLocking(true))
              .op();
      case ADA_GRAD ->
          // The framework applies ApplyAdagrad (accum += g²; var -= lr·g·rsqrt(accum)); TF-Java's
          // ResourceApplyAdagrad class builds ResourceApplyAdagradV2 (var -= lr·g / (sqrt(accum)
          // + epsilon)), which rounds differently, so the V1 twin is built by name.
          scope
              .opBuilder("ResourceApplyAdagrad", "ResourceApplyAdagrad")
              .addInput(handle.asOutput())
              .addInput(slots.get(0).asOutput())
              .addInput(hyper(scope, "learningRate", type).asOutput())
              .addInput(gradient.asOutput())
              .setAttr("use_locking", true)
              .setAttr("update_slots", true)
              .build();
      case RMS_PROP ->
          flag("centered")
              ? ResourceApplyCenteredRmsProp.create(
                      scope,
                      handle,
                      slots.get(2),
                      slots.get(0),
                      slots.get(1),
                      hyper(scope, "learningRate", type),
                      hyper(scope, "decay", type),
                      hyper(scope, "momentum", type),
                      hyper(scope, "epsilon", type),
                      gradient,
                      ResourceApplyCenteredRmsProp.useLocking(true))
                  .op()
              : ResourceApplyRmsProp.create(
                      scope,
                      handle,
                      slots.get(0),
                      slots.get(1),
                      hyper(scope, "learningRate", type),
                      hyper(scope, "decay", type),
                      hyper(scope, "momentum", type),
                      hyper(scope, "epsilon", type),
                      gradient,
                      ResourceApplyRmsProp.useLocking(true))
                  .op();
    };
  }

  /**
   * Builds the row-sparse update of one variable: only the rows at {@code indices} (and their slot
   * rows) change, as Keras applies a gradient of gathered rows.
   *
   * <ul>
   *   <li>GradientDescent: {@code ResourceScatterSub(var, indices, lr·values)}, which applies a
   *       repeated index once per occurrence, so duplicates add up.
   *   <li>Momentum, AdaGrad, RMSProp: the {@code ResourceSparseApply*} twin of the dense kernel, on
   *       the gradient with duplicate indices summed first ({@code Unique}, {@code
   *       UnsortedSegmentSum}): those kernels apply each (index, row) in turn, so a repeated index
   *       would be a second step on an already updated slot, not one step on the summed gradient.
   *   <li>Adam, which has no sparse kernel, as Keras 2's {@code Adam._resource_apply_sparse} on
   *       summed duplicates: {@code m = β1·m} and {@code v = β2·v} over the whole slot, then {@code
   *       m[i] += (1 − β1)·g}, {@code v[i] += (1 − β2)·g²} at the rows, then the whole table {@code
   *       var −= lr·√(1 − β2ᵗ)/(1 − β1ᵗ) · m / (√v + ε)}: every row moves, as with a dense zero
   *       gradient outside the rows.
   * </ul>
   *
   * @param scope where the update ops and their constants are built
   * @param handle the variable's resource handle
   * @param slots the slot handles, in {@link #slots()} order
   * @param values the rows' gradients, {@code [n, row…]} in the variable's dtype
   * @param indices the rows, {@code [n]}, {@code int32} or {@code int64}
   * @param powers Adam's {@code beta1_power} and {@code beta2_power} values (float32), else null
   */
  @SuppressWarnings("unchecked")
  <T extends TType> Operation applySparse(
      Scope scope,
      Operand<?> handle,
      List<? extends Operand<?>> slots,
      Operand<T> values,
      Operand<? extends TNumber> indices,
      List<? extends Operand<TFloat32>> powers) {
    Class<T> type = values.type();
    if (kind == Kind.GRADIENT_DESCENT) {
      return ResourceScatterSub.create(
              scope, handle, indices, Mul.create(scope, values, hyper(scope, "learningRate", type)))
          .op();
    }
    Operation unique =
        scope
            .opBuilder("Unique", "Unique")
            .addInput(indices.asOutput())
            .setAttr("out_idx", DataType.DT_INT32)
            .build();
    Operand<? extends TNumber> at = (Operand<? extends TNumber>) (Operand<?>) unique.output(0);
    Operand<T> grad =
        UnsortedSegmentSum.create(
            scope,
            values,
            (Operand<TInt32>) (Operand<?>) unique.output(1),
            Size.create(scope, unique.output(0)));
    return switch (kind) {
      case GRADIENT_DESCENT -> throw new AssertionError(kind);
      case MOMENTUM ->
          ResourceSparseApplyMomentum.create(
                  scope,
                  handle,
                  slots.get(0),
                  hyper(scope, "learningRate", type),
                  grad,
                  at,
                  hyper(scope, "momentum", type),
                  ResourceSparseApplyMomentum.useNesterov(flag("useNesterov")),
                  ResourceSparseApplyMomentum.useLocking(true))
              .op();
      case ADA_GRAD ->
          // V1, the sparse twin of the dense ResourceApplyAdagrad above.
          ResourceSparseApplyAdagrad.create(
                  scope,
                  handle,
                  slots.get(0),
                  hyper(scope, "learningRate", type),
                  grad,
                  at,
                  ResourceSparseApplyAdagrad.useLocking(true),
                  ResourceSparseApplyAdagrad.updateSlots(true))
              .op();
      case RMS_PROP ->
          flag("centered")
              ? ResourceSparseApplyCenteredRmsProp.create(
                      scope,
                      handle,
                      slots.get(2),
                      slots.get(0),
                      slots.get(1),
                      hyper(scope, "learningRate", type),
                      hyper(scope, "decay", type),
                      hyper(scope, "momentum", type),
                      hyper(scope, "epsilon", type),
                      grad,
                      at,
                      ResourceSparseApplyCenteredRmsProp.useLocking(true))
                  .op()
              : ResourceSparseApplyRmsProp.create(
                      scope,
                      handle,
                      slots.get(0),
                      slots.get(1),
                      hyper(scope, "learningRate", type),
                      hyper(scope, "decay", type),
                      hyper(scope, "momentum", type),
                      hyper(scope, "epsilon", type),
                      grad,
                      at,
                      ResourceSparseApplyRmsProp.useLocking(true))
                  .op();
      case ADAM -> sparseAdam(scope, handle, slots, grad, at, powers);
    };
  }

  /** Keras 2's sparse Adam step on deduplicated rows ({@link #applySparse}). */
  private <T extends TType> Operation sparseAdam(
      Scope scope,
      Operand<?> handle,
      List<? extends Operand<?>> slots,
      Operand<T> grad,
      Operand<? extends TNumber> at,
      List<? extends Operand<TFloat32>> powers) {
    Class<T> type = grad.type();
    Operand<T> one = Plumbing.castIfNeeded(scope, Constant.scalarOf(scope, 1f), type);
    Operand<T> beta1 = hyper(scope, "betaOne", type);
    Operand<T> beta2 = hyper(scope, "betaTwo", type);
    Operand<T> m =
        decayThenAddRows(
            scope, slots.get(0), beta1, Mul.create(scope, grad, Sub.create(scope, one, beta1)), at);
    Operand<T> v =
        decayThenAddRows(
            scope,
            slots.get(1),
            beta2,
            Mul.create(scope, Mul.create(scope, grad, grad), Sub.create(scope, one, beta2)),
            at);
    // lr·√(1 − β2ᵗ)/(1 − β1ᵗ), as ResourceApplyAdam computes it from the same powers.
    Operand<T> lr =
        Div.create(
            scope,
            Mul.create(
                scope,
                hyper(scope, "learningRate", type),
                Sqrt.create(
                    scope,
                    Sub.create(scope, one, Plumbing.castIfNeeded(scope, powers.get(1), type)))),
            Sub.create(scope, one, Plumbing.castIfNeeded(scope, powers.get(0), type)));
    Operand<T> step =
        Div.create(
            scope,
            Mul.create(scope, lr, m),
            Add.create(scope, Sqrt.create(scope, v), hyper(scope, "epsilon", type)));
    return AssignSubVariableOp.create(scope, handle, step).op();
  }

  /**
   * {@code slot = decay·slot}, then {@code slot[at] += rows}; returns the slot's value read after
   * both.
   */
  private static <T extends TType> Operand<T> decayThenAddRows(
      Scope scope,
      Operand<?> slot,
      Operand<T> decay,
      Operand<T> rows,
      Operand<? extends TNumber> at) {
    Class<T> type = decay.type();
    Operation decayed =
        AssignVariableOp.create(
                scope, slot, Mul.create(scope, ReadVariableOp.create(scope, slot, type), decay))
            .op();
    Operation added =
        ResourceScatterAdd.create(scope.withControlDependencyOps(List.of(decayed)), slot, at, rows)
            .op();
    return ReadVariableOp.create(scope.withControlDependencyOps(List.of(added)), slot, type);
  }

  /**
   * A hyperparameter as the framework passes it: a float32 constant, cast to the variable's dtype
   * (no cast for float32, where it would be the identity).
   */
  private <T extends TType> Operand<T> hyper(Scope scope, String key, Class<T> type) {
    return Plumbing.castIfNeeded(scope, Constant.scalarOf(scope, number(key)), type);
  }
}
