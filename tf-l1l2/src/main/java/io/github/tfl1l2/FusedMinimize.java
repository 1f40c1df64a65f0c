package io.github.tfl1l2;

import io.github.tfl1l2.FusedGradient.Term;
import io.github.tfl1l2.gradients.MissingGradients;
import io.github.tfl1l2.internal.Checks;
import io.github.tfl1l2.internal.DataGradients;
import io.github.tfl1l2.internal.Devices;
import io.github.tfl1l2.internal.FloatingTypes;
import io.github.tfl1l2.internal.VariableGradient;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.ExecutionEnvironment;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Identity;
import org.tensorflow.op.core.NoOp;
import org.tensorflow.types.family.TType;

/**
 * {@code L1L2.minimize}: the data loss's gradients, each selected weight's penalty gradient added
 * in the same fused computation ({@link FusedGradient}), and the optimizer's own {@code
 * applyGradients} (ref variables) or the optimizer's rule applied here ({@link ResourceUpdates},
 * resource variables).
 */
final class FusedMinimize {
  private FusedMinimize() {}

  /** One training step of {@code optimizer} on {@code dataLoss + penalty(weights)}. */
  static Op minimize(
      PenaltySpec spec,
      Optimizer optimizer,
      Operand<?> dataLoss,
      Iterable<? extends Operand<?>> weights) {
    Checks.notNull("optimizer", optimizer);
    Checks.notNull("dataLoss", dataLoss);
    Checks.notNull("weights", weights);
    spec.requireScalarReduction();
    // Before any gradient is built: a data loss such as SparseSoftmaxCrossEntropyWithLogits has
    // no gradient in TensorFlow's C++ registry until this library adds it.
    MissingGradients.register();
    ExecutionEnvironment env = optimizer.getTF().scope().env();
    if (!(env instanceof Graph graph)) {
      throw new IllegalArgumentException(
          "optimizer must train a Graph, but its environment is " + env);
    }
    if (dataLoss.env() != graph) {
      throw new IllegalArgumentException(
          "dataLoss (op \""
              + dataLoss.op().name()
              + "\") belongs to another execution environment than the optimizer's graph");
    }
    FloatingTypes.requireFloating(
        "dataLoss (op \"" + dataLoss.op().name() + "\")",
        FloatingTypes.baseOf(dataLoss.asOutput().dataType()));
    // How many times each variable is a selected weight: addTo counts a repeated one each time.
    Map<Output<?>, Integer> penalized = new LinkedHashMap<>();
    Set<Output<?>> listed = new LinkedHashSet<>();
    int index = 0;
    for (Operand<?> weight : weights) {
      String name = nameOf(weight, index, graph);
      Output<?> variable = DataGradients.variableOf("weights", index, weight, graph);
      listed.add(variable);
      if (spec.selects().test(name) && !spec.zero()) {
        penalized.merge(variable, 1, Integer::sum);
      }
      index++;
    }
    if (index == 0) {
      throw new IllegalArgumentException(
          "weights must name at least one variable to regularize, but is empty");
    }

    List<Output<?>> all = DataGradients.variablesOf(graph);
    List<Output<?>> refs = all.stream().filter(v -> !DataGradients.isResource(v)).toList();
    // Resource variables train only when listed: a loaded model's frozen layers, its moving
    // statistics and other optimizers' slots are read by the loss but are not weights.
    List<Output<?>> resources =
        all.stream().filter(v -> DataGradients.isResource(v) && listed.contains(v)).toList();
    Scope plain = Ops.create(graph).scope().withSubScope(spec.name() + "_minimize");
    // Without resource weights the ref variables take the framework's own gradient call, as they
    // always have; with them, one addGradients call covers ref variables and resource reads alike.
    List<Output<?>> asked = new ArrayList<>(refs);
    asked.addAll(resources);
    Map<Output<?>, VariableGradient> gradients =
        resources.isEmpty() ? Map.of() : DataGradients.gradients(plain, dataLoss, asked);
    Map<Output<?>, Output<?>> dataGradients =
        resources.isEmpty() ? dataGradients(optimizer, dataLoss, refs) : dense(plain, gradients);
    if (penalized.isEmpty()
        && listed.stream().noneMatch(gradients::containsKey)
        && listed.stream().noneMatch(dataGradients::containsKey)) {
      throw new IllegalArgumentException(
          "dataLoss (op \""
              + dataLoss.op().name()
              + "\") reaches none of the "
              + listed.size()
              + " weights "
              + listed.stream().map(v -> v.op().name()).toList()
              + ", and the penalty selects none of them ("
              + (spec.zero() ? "it is zero" : "on=" + (spec.on() == null ? "" : spec.on()))
              + "): the step would train none of them");
    }

    List<ResourceUpdates.Variable> trained = new ArrayList<>();
    for (Output<?> variable : resources) {
      Integer times = penalized.get(variable);
      VariableGradient gradient = gradients.get(variable);
      if (times == null && gradient == null) {
        continue;
      }
      int n = times == null ? 0 : times;
      double c1 = n * spec.c1();
      double c2 = n * spec.c2();
      // A penalized table is dense by nature: the penalty's gradient touches every row.
      boolean rows = gradient != null && gradient.isRowSparse() && c1 == 0.0 && c2 == 0.0;
      Output<?> dense = gradient == null || rows ? null : gradient.dense(plain);
      trained.add(new ResourceUpdates.Variable(variable, dense, rows ? gradient : null, c1, c2));
    }
    Op refStep = refStep(spec, optimizer, plain, refs, dataGradients, penalized, trained);
    if (trained.isEmpty()) {
      return refStep;
    }
    OptimizerRule rule = OptimizerRule.of(optimizer);
    List<Operation> updates = new ArrayList<>();
    if (refStep != null) {
      updates.add(refStep.op());
    }
    updates.addAll(ResourceUpdates.build(plain, graph, rule, trained, spec.xla()));
    String name = optimizer.getOptimizerName() + "-minimize";
    for (int k = 1; graph.operation(name) != null; k++) {
      name = optimizer.getOptimizerName() + "-minimize_" + k;
    }
    return NoOp.create(Ops.create(graph).scope().withName(name).withControlDependencyOps(updates));
  }

  /**
   * The ref variables' step, built as it always was: each selected weight's fused gradient, then
   * the optimizer's own {@code applyGradients} (named {@code <optimizer>-minimize}); null when
   * there are resource variables to train and no ref variable has a gradient
   */
  private static Op refStep(
      PenaltySpec spec,
      Optimizer optimizer,
      Scope plain,
      List<Output<?>> variables,
      Map<Output<?>, Output<?>> dataGradients,
      Map<Output<?>, Integer> penalized,
      List<ResourceUpdates.Variable> resourceUpdates) {
    List<Output<?>> fusedVariables = new ArrayList<>();
    List<Term> terms = new ArrayList<>();
    for (Output<?> variable : variables) {
      Integer times = penalized.get(variable);
      if (times == null) {
        continue;
      }
      Operand<?> read = Identity.create(Devices.on(plain, Devices.deviceOf(variable)), variable);
      terms.add(
          new Term(read, null, dataGradients.get(variable), times * spec.c1(), times * spec.c2()));
      fusedVariables.add(variable);
    }
    List<Operand<?>> fused = FusedGradient.build(plain, terms, spec.xla());

    List<GradAndVar<? extends TType>> gradsAndVars = new ArrayList<>();
    for (Output<?> variable : variables) {
      int fusedIndex = fusedVariables.indexOf(variable);
      Output<?> gradient =
          fusedIndex >= 0 ? fused.get(fusedIndex).asOutput() : dataGradients.get(variable);
      if (gradient != null) {
        gradsAndVars.add(pair(gradient, variable));
      }
    }
    if (!resourceUpdates.isEmpty()) {
      // Both kinds: the step's NoOp takes the framework's name, and this part a name of its own.
      return gradsAndVars.isEmpty()
          ? null
          : optimizer.applyGradients(gradsAndVars, optimizer.getOptimizerName() + "-minimize-ref");
    }
    return optimizer.applyGradients(gradsAndVars, optimizer.getOptimizerName() + "-minimize");
  }

  /**
   * The data loss's gradient of each variable it reaches: {@code optimizer.computeGradients}, the
   * optimizer's own rule, when it reaches all of them; otherwise (where that would fail on an
   * unreached variable) {@link DataGradients#reached}.
   */
  private static Map<Output<?>, Output<?>> dataGradients(
      Optimizer optimizer, Operand<?> dataLoss, List<Output<?>> outputs) {
    if (!DataGradients.reachesAll(dataLoss, outputs)) {
      return DataGradients.reached(dataLoss, outputs);
    }
    Map<Output<?>, Output<?>> gradients = new LinkedHashMap<>();
    for (GradAndVar<?> pair : optimizer.computeGradients(dataLoss)) {
      Output<?> gradient = pair.getGradient();
      if (DataGradients.hasGradient(gradient)) {
        gradients.put(pair.getVariable(), gradient);
      }
    }
    return gradients;
  }

  /**
   * The dense gradients of the ref variables among {@code gradients}: a ref variable's gradient is
   * always dense; resource variables are left to the caller, which may update them row by row.
   */
  private static Map<Output<?>, Output<?>> dense(
      Scope scope, Map<Output<?>, VariableGradient> gradients) {
    Map<Output<?>, Output<?>> dense = new LinkedHashMap<>();
    gradients.forEach(
        (variable, gradient) -> {
          if (!DataGradients.isResource(variable)) {
            dense.put(variable, gradient.dense(scope));
          }
        });
    return dense;
  }

  /**
   * The name {@code on(regex)} matches for the weight at {@code index}, validated as a parameter: a
   * resource handle by its {@code VarHandleOp}'s name and {@code dtype} attribute, anything else as
   * {@link Parameter} names it.
   */
  private static String nameOf(Operand<?> weight, int index, Graph graph) {
    if (weight != null && weight.env() == graph && DataGradients.isResource(weight.asOutput())) {
      FloatingTypes.requireFloating(
          "weights[" + index + "] (op \"" + weight.op().name() + "\", a resource variable)",
          DataGradients.dtypeOf(weight.asOutput()));
      return weight.op().name();
    }
    return Parameter.of("weights", null, weight, index, graph).name();
  }

  @SuppressWarnings("unchecked")
  private static GradAndVar<TType> pair(Output<?> gradient, Output<?> variable) {
    return new GradAndVar<>((Output<TType>) gradient, (Output<TType>) variable);
  }
}
