package io.github.tfl1l2;

import io.github.tfl1l2.PenaltyGradient.Term;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.ExecutionEnvironment;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Identity;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.family.TType;

/**
 * {@link L1L2#minimize}: the data loss's gradients, each selected weight's penalty gradient added
 * in the same fused computation, and the optimizer's own {@code applyGradients}.
 */
final class FusedMinimize {
  private FusedMinimize() {}

  private static final String VARIABLE = "VariableV2";

  static Op minimize(
      L1L2 config,
      Optimizer optimizer,
      Operand<?> dataLoss,
      Iterable<? extends Operand<?>> weights) {
    Checks.notNull("optimizer", optimizer);
    Checks.notNull("dataLoss", dataLoss);
    Checks.notNull("weights", weights);
    config.requireScalarReduction();
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
    DataType lossType = dataLoss.asOutput().dataType();
    if (!FloatingTypes.isFloating(FloatingTypes.baseOf(lossType))) {
      throw new IllegalArgumentException(
          "dataLoss (op \""
              + dataLoss.op().name()
              + "\") has dtype "
              + lossType
              + "; allowed are DT_HALF, DT_BFLOAT16, DT_FLOAT and DT_DOUBLE");
    }
    // How many times each variable is a selected weight: addTo counts a repeated one each time.
    Map<GraphOperation, Integer> penalized = new LinkedHashMap<>();
    int index = 0;
    for (Operand<?> weight : weights) {
      Parameter parameter = Parameter.of("weights", null, weight, index, graph);
      GraphOperation variable = variableOf(weight, index);
      if (config.selects(parameter.name()) && !config.isZero()) {
        penalized.merge(variable, 1, Integer::sum);
      }
      index++;
    }

    List<GraphOperation> variables = new ArrayList<>();
    Iterator<GraphOperation> operations = graph.operations();
    while (operations.hasNext()) {
      GraphOperation op = operations.next();
      if (op.type().equals(VARIABLE)) {
        variables.add(op);
      }
    }
    Map<Output<?>, Output<?>> dataGradients = dataGradients(optimizer, dataLoss, variables);

    Scope plain = Ops.create(graph).scope().withSubScope(config.name() + "_minimize");
    List<GraphOperation> fusedVariables = new ArrayList<>();
    List<Term> terms = new ArrayList<>();
    for (GraphOperation variable : variables) {
      Integer times = penalized.get(variable);
      if (times == null) {
        continue;
      }
      Output<?> value = variable.output(0);
      Operand<?> read = Identity.create(Devices.on(plain, Devices.deviceOf(value)), value);
      terms.add(
          new Term(
              read,
              null,
              dataGradients.get(variable.output(0)),
              times * config.weight() * config.l1(),
              times * config.weight() * config.l2()));
      fusedVariables.add(variable);
    }
    List<Operand<?>> fused = PenaltyGradient.build(plain, terms, config.xla());

    List<GradAndVar<? extends TType>> gradsAndVars = new ArrayList<>();
    for (GraphOperation variable : variables) {
      int fusedIndex = fusedVariables.indexOf(variable);
      Output<?> gradient =
          fusedIndex >= 0
              ? fused.get(fusedIndex).asOutput()
              : dataGradients.get(variable.output(0));
      if (gradient != null) {
        gradsAndVars.add(pair(gradient, variable.output(0)));
      }
    }
    return optimizer.applyGradients(gradsAndVars, optimizer.getOptimizerName() + "-minimize");
  }

  /**
   * The data loss's gradient of each variable it reaches: {@code optimizer.computeGradients}, the
   * optimizer's own rule, when it reaches all of them; otherwise (where that would fail on an
   * unreached variable) {@link DataGradients#reached}.
   */
  private static Map<Output<?>, Output<?>> dataGradients(
      Optimizer optimizer, Operand<?> dataLoss, List<GraphOperation> variables) {
    List<Output<?>> outputs = variables.stream().<Output<?>>map(v -> v.output(0)).toList();
    if (!DataGradients.reachesAll(dataLoss, outputs)) {
      return DataGradients.reached(dataLoss, outputs);
    }
    Map<Output<?>, Output<?>> gradients = new LinkedHashMap<>();
    for (GradAndVar<?> pair : optimizer.computeGradients(dataLoss)) {
      Output<?> gradient = pair.getGradient();
      // A NoGradient result (the loss reaches the variable only through StopGradient) is closed.
      if (gradient != null && !gradient.isClosed()) {
        gradients.put(pair.getVariable(), gradient);
      }
    }
    return gradients;
  }

  /** The {@code VariableV2} that {@code weight} is or reads. */
  private static GraphOperation variableOf(Operand<?> weight, int index) {
    Output<?> source = Parameter.readSource(weight);
    if (source.op() instanceof GraphOperation op && op.type().equals(VARIABLE)) {
      return op;
    }
    throw new IllegalArgumentException(
        "weights["
            + index
            + "] (op \""
            + weight.op().name()
            + "\") reads a "
            + source.op().type()
            + ", not a VariableV2; the framework's optimizers train only VariableV2 variables"
            + " (tf.variable), given directly or through Identity reads");
  }

  @SuppressWarnings("unchecked")
  private static GradAndVar<TType> pair(Output<?> gradient, Output<?> variable) {
    return new GradAndVar<>((Output<TType>) gradient, (Output<TType>) variable);
  }
}
