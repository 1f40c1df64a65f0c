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
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.train.ResourceApplyAdam;
import org.tensorflow.op.train.ResourceApplyCenteredRmsProp;
import org.tensorflow.op.train.ResourceApplyGradientDescent;
import org.tensorflow.op.train.ResourceApplyMomentum;
import org.tensorflow.op.train.ResourceApplyRmsProp;
import org.tensorflow.types.TFloat32;
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
   * A hyperparameter as the framework passes it: a float32 constant, cast to the variable's dtype
   * (no cast for float32, where it would be the identity).
   */
  private <T extends TType> Operand<T> hyper(Scope scope, String key, Class<T> type) {
    return Plumbing.castIfNeeded(scope, Constant.scalarOf(scope, number(key)), type);
  }
}
