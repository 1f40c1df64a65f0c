package io.github.tfl1l2.savedmodel.export;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.ModelVariable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Signature;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.OpDef;
import org.tensorflow.proto.ResourceHandleProto;
import org.tensorflow.types.family.TType;

/**
 * The {@value SignatureLayout#KEY} signature as one graph function: it takes the resource handles
 * of the regularized variables as its arguments, reads them with {@code ReadVariableOp} and returns
 * the outputs of {@link SignatureLayout}, in sorted key order (the order in which TensorFlow 2's
 * loader unpacks a dictionary of outputs).
 *
 * <p>The body is built by {@link RegularizationOutputs#emit} into a graph of its own and turned
 * into a function by TensorFlow, so that the function computes exactly what the plain signature
 * computes.
 */
public final class RegularizationFunction implements AutoCloseable {
  private final ConcreteFunction function;
  private final List<ModelVariable> variables;

  /** Output key to its dtype and shape, in the function's output order (sorted keys). */
  private final Map<String, Signature.TensorDescription> outputs;

  private RegularizationFunction(
      ConcreteFunction function,
      List<ModelVariable> variables,
      Map<String, Signature.TensorDescription> outputs) {
    this.function = function;
    this.variables = variables;
    this.outputs = outputs;
  }

  /**
   * Builds the function over {@code variables}, whose handles become its arguments in this order.
   *
   * @param baseName the start of the function's name; TensorFlow appends a hash of the body
   * @throws IllegalArgumentException if a variable is not a floating-point resource variable, or
   *     {@code config.on()} selects none of them
   */
  static RegularizationFunction create(
      L1L2 config, List<ModelVariable> variables, String baseName) {
    Objects.requireNonNull(config, "config must not be null");
    List<ModelVariable> arguments = List.copyOf(variables);
    for (ModelVariable variable : arguments) {
      if (!variable.opType().equals("VarHandleOp") || !variable.isFloating()) {
        throw new IllegalArgumentException(
            "variable "
                + variable.name()
                + " is a "
                + variable.dtypeName()
                + " "
                + variable.opType()
                + "; the function takes floating-point resource variables "
                + "(VarHandleOp) only");
      }
    }
    Map<String, Signature.TensorDescription> described = new LinkedHashMap<>();
    ConcreteFunction function =
        ConcreteFunction.create(
            tf -> {
              Graph graph = (Graph) tf.scope().env();
              Map<String, Operand<?>> reads = new LinkedHashMap<>();
              Signature.Builder signature = Signature.builder().key(baseName).methodName(baseName);
              for (int i = 0; i < arguments.size(); i++) {
                ModelVariable variable = arguments.get(i);
                Output<?> handle =
                    tf.scope()
                        .opBuilder("Placeholder", "handle_" + i)
                        .setAttr("dtype", DataType.DT_RESOURCE)
                        .build()
                        .output(0);
                signature.input("handle_" + i, handle);
                reads.put(
                    variable.name(),
                    tf.readVariableOp(handle, TensorTypeRegistry.find(variable.dtype()).type()));
              }
              Signature plain =
                  RegularizationOutputs.emit(tf, graph, SignatureLayout.KEY, config, reads, false)
                      .signature();
              // TreeMap: the outputs in sorted key order, the order in which they are returned.
              for (Map.Entry<String, Signature.TensorDescription> output :
                  new TreeMap<>(plain.getOutputs()).entrySet()) {
                described.put(output.getKey(), output.getValue());
                signature.output(output.getKey(), graph.outputOrThrow(output.getValue().name));
              }
              return signature.build();
            });
    return new RegularizationFunction(
        function, arguments, Collections.unmodifiableMap(new LinkedHashMap<>(described)));
  }

  /** The function as TensorFlow-Java holds it, to call it in a graph. */
  ConcreteFunction function() {
    return function;
  }

  /** The function's name in a graph's library. */
  String name() {
    return function.getDefinedName();
  }

  /** The output keys in the function's output order: sorted. */
  List<String> outputKeys() {
    return List.copyOf(outputs.keySet());
  }

  /** The dtype of output {@code key}. */
  DataType outputType(String key) {
    return outputs.get(key).dataType;
  }

  /** The static shape of output {@code key} (the variables' count for the vectors). */
  Shape outputShape(String key) {
    return outputs.get(key).shape;
  }

  /** The Java types of the outputs in order, as a call op declares them. */
  List<Class<? extends TType>> outputClasses() {
    List<Class<? extends TType>> classes = new ArrayList<>();
    for (Signature.TensorDescription output : outputs.values()) {
      classes.add(TensorTypeRegistry.find(output.dataType).type());
    }
    return classes;
  }

  /**
   * The FunctionDef to store in a SavedModel's library: TensorFlow's own conversion, with two
   * additions that TensorFlow 2's functions carry as well. Output arguments are named after the
   * output keys (the return map is renamed with them), and each argument records the dtype and
   * shape of the variable its handle points to ({@code handle_data}), which the Python loader uses
   * for shape inference inside the function.
   *
   * @param handleData per argument, the dtype and shape of its variable
   */
  FunctionDef functionDef(List<ResourceHandleProto.DtypeAndShape> handleData) {
    FunctionDef converted = function.getFunctionDef();
    OpDef.Builder signature = converted.getSignature().toBuilder();
    if (signature.getOutputArgCount() != outputs.size()
        || signature.getInputArgCount() != variables.size()
        || handleData.size() != variables.size()) {
      throw new IllegalStateException(
          "TensorFlow converted the function to "
              + signature.getInputArgCount()
              + " inputs and "
              + signature.getOutputArgCount()
              + " outputs; expected "
              + variables.size()
              + " and "
              + outputs.size());
    }
    FunctionDef.Builder def = converted.toBuilder().clearRet();
    List<String> keys = outputKeys();
    for (int i = 0; i < keys.size(); i++) {
      String generated = signature.getOutputArg(i).getName();
      String value = converted.getRetOrThrow(generated);
      signature.getOutputArgBuilder(i).setName(keys.get(i));
      def.putRet(keys.get(i), value);
    }
    for (int i = 0; i < variables.size(); i++) {
      signature.getInputArgBuilder(i).clearHandleData().addHandleData(handleData.get(i));
    }
    return def.setSignature(signature).build();
  }

  /** Releases the native function; graphs it was attached to keep their copies. */
  @Override
  public void close() {
    function.close();
  }
}
