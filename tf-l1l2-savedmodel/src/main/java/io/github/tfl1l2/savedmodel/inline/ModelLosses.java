package io.github.tfl1l2.savedmodel.inline;

import io.github.tfl1l2.savedmodel.SavedModelException;
import io.github.tfl1l2.savedmodel.load.KerasObjects;
import io.github.tfl1l2.savedmodel.load.ObjectGraphVariables;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperationBuilder;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedConcreteFunction;
import org.tensorflow.types.TFloat32;

/**
 * A Keras model's own regularization losses, Keras's {@code sum(model.losses)}: the functions that
 * Keras saved in its layers' {@code regularization_losses} lists ({@link
 * KerasObjects#regularizationLossFunctions()}), inlined over the model's variables and summed.
 *
 * <p>Why the saved functions and not the declared configs: they are the very ops Keras traced
 * ({@code 0.02·L2Loss(w)} for {@code L2(0.01)}, custom regularizers included), they exist on every
 * Keras 2 SavedModel whatever its version, and they need neither {@code keras_metadata.pb} nor the
 * deprecated {@code user_object.metadata} to be parsed.
 */
public final class ModelLosses {
  private ModelLosses() {}

  /**
   * Builds the sum of the model's regularization losses in {@code graph}.
   *
   * @param graph the loaded graph of {@code metaGraph}
   * @param metaGraph the MetaGraphDef it was loaded from
   * @param source how messages name the model
   * @param prefix the name prefix of the built ops, ending with {@code /}
   * @return a float32 scalar; the constant 0 when no layer declares a regularizer
   * @throws SavedModelException if a loss function cannot be inlined, captures a variable that
   *     cannot be matched to the graph, or does not return one float32 scalar
   */
  public static Operand<TFloat32> build(
      Graph graph, MetaGraphDef metaGraph, String source, String prefix) {
    KerasObjects keras = KerasObjects.of(metaGraph.getObjectGraphDef());
    List<String> functions = keras.regularizationLossFunctions();
    if (functions.isEmpty()) {
      try (TFloat32 zero = TFloat32.scalarOf(0f)) {
        return graph
            .opBuilder("Const", prefix + "none", graph.baseScope())
            .setAttr("dtype", zero.dataType())
            .setAttr("value", zero)
            .build()
            .output(0);
      }
    }
    ObjectGraphVariables variables = ObjectGraphVariables.of(metaGraph);
    FunctionInliner inliner = new FunctionInliner(graph, metaGraph, source);
    List<Output<?>> losses = new ArrayList<>();
    for (int i = 0; i < functions.size(); i++) {
      String name = functions.get(i);
      SavedConcreteFunction saved = keras.concreteFunction(name);
      List<Output<?>> arguments = new ArrayList<>();
      for (int id : saved.getBoundInputsList()) {
        arguments.add(graph.operationOrThrow(variables.capturedOpName(source, id)).output(0));
      }
      List<Output<?>> results = inliner.inlineFunction(name, arguments, prefix + i + "/");
      if (results.size() != 1
          || results.get(0).dataType() != DataType.DT_FLOAT
          || results.get(0).shape().numDimensions() != 0) {
        throw new SavedModelException(
            source + ": regularization loss " + name + " does not return one float32 scalar");
      }
      losses.add(results.get(0));
    }
    if (losses.size() == 1) {
      return losses.get(0).expect(TFloat32.class);
    }
    GraphOperationBuilder sum = graph.opBuilder("AddN", prefix + "sum", graph.baseScope());
    sum.addInputList(losses.toArray(new Output<?>[0]));
    return sum.build().<TFloat32>output(0);
  }
}
