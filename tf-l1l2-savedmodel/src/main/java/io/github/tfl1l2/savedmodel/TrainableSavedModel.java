package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.export.ObjectGraphSignature;
import io.github.tfl1l2.savedmodel.inline.FunctionInliner;
import io.github.tfl1l2.savedmodel.inline.GradientCoverage;
import io.github.tfl1l2.savedmodel.load.GraphNames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.types.family.TType;

/**
 * A TF2 or Keras SavedModel loaded for fine-tuning: one signature's function is inlined into the
 * loaded graph, so that {@code Graph.addGradients} reaches the variables it reads, and the trained
 * values can be exported as a SavedModel again.
 *
 * <pre>{@code
 * try (TrainableSavedModel model = TrainableSavedModel.open(Path.of("keras-model"))) {
 *   Ops tf = Ops.create(model.graph());
 *   Operand<TFloat32> probabilities = model.output("dense_1", TFloat32.class);
 *   // ... a loss on probabilities, gradients or an optimizer over model.trainableVariables()
 *   model.exportTo(Path.of("keras-model-tuned"));
 * }
 * }</pre>
 *
 * <p>The signature's outputs are computed by the inlined ops, which read the same variables as the
 * model's own call: assigning a variable changes both. The inlined graph is the serving
 * computation: Keras layers run as in inference ({@code BatchNormalization} normalizes with its
 * moving statistics and does not update them, {@code Dropout} passes its input through).
 *
 * <p>Keras recurrent layers ({@code LSTM}, {@code GRU}, their {@code Bidirectional} pairs and
 * masked forms) train: their loop runs over the input's static number of timesteps, so it is
 * unrolled into one copy of its body per step, and the generic member of Keras's cuDNN/generic
 * implementation pair is the one inlined.
 *
 * <p>Refused at {@link #open}: models without an object graph (TF1-style graphs and TF-Java
 * exports, whose reference variables train without inlining), functional control flow that a
 * variable reaches and that cannot be unrolled ({@code If}, {@code Case}, a loop whose trip count
 * is known only when the graph runs, such as a recurrent layer over a time axis of unknown length),
 * bodies that write a variable, and an op without a registered C++ gradient between a trainable
 * variable and an output.
 *
 * <p>Not thread-safe.
 */
public final class TrainableSavedModel implements AutoCloseable {
  /** The signature {@link #open(Path)} inlines: the one TF Serving serves by default. */
  private static final String DEFAULT_SIGNATURE = "serving_default";

  /** TensorFlow's key for the SavedModel's init op, listed among the signatures but not one. */
  private static final String INIT_OP_KEY = "__saved_model_init_op";

  private final LoadedSavedModel loaded;
  private final String signatureKey;
  private final Map<String, Output<?>> inputs;
  private final Map<String, Output<?>> outputs;
  private final List<ModelVariable> trainable;
  private final List<Operand<?>> handles;

  private TrainableSavedModel(
      LoadedSavedModel loaded,
      String signatureKey,
      Map<String, Output<?>> inputs,
      Map<String, Output<?>> outputs,
      List<ModelVariable> trainable,
      List<Operand<?>> handles) {
    this.loaded = loaded;
    this.signatureKey = signatureKey;
    this.inputs = inputs;
    this.outputs = outputs;
    this.trainable = trainable;
    this.handles = handles;
  }

  /**
   * Opens the SavedModel in {@code directory} (tag {@code serve}) and inlines its {@code
   * serving_default} signature; see {@link #open(Path, String)}.
   *
   * @param directory a TF2 or Keras SavedModel
   * @return the model with its {@code serving_default} signature inlined, to be closed by the
   *     caller
   * @throws IllegalArgumentException if the model has no {@code serving_default} signature
   * @throws SavedModelException as for {@link #open(Path, String)}
   */
  public static TrainableSavedModel open(Path directory) {
    return open(directory, DEFAULT_SIGNATURE);
  }

  /**
   * Loads the MetaGraphDef tagged {@code serve} of the SavedModel in {@code directory}, its
   * variables restored, and inlines the function of signature {@code signatureKey} into its graph,
   * nested calls included.
   *
   * @param directory a TF2 or Keras SavedModel
   * @param signatureKey the key of one of its signatures, e.g. {@code serving_default}
   * @return the model with that signature inlined, to be closed by the caller (it owns the loaded
   *     session and graph)
   * @throws NullPointerException if {@code directory} or {@code signatureKey} is null
   * @throws IllegalArgumentException if the model has no signature {@code signatureKey} (the
   *     message lists those it has)
   * @throws SavedModelException with a one-line message if the directory does not load (see {@link
   *     LoadedSavedModel#open(Path, String)}), has no object graph, or the signature's body cannot
   *     be inlined or differentiated; the message names the node
   */
  public static TrainableSavedModel open(Path directory, String signatureKey) {
    Objects.requireNonNull(directory, "directory must not be null");
    Objects.requireNonNull(signatureKey, "signatureKey must not be null");
    LoadedSavedModel loaded = LoadedSavedModel.open(directory);
    try {
      return inline(loaded, signatureKey);
    } catch (RuntimeException e) {
      loaded.close();
      throw e;
    }
  }

  private static TrainableSavedModel inline(LoadedSavedModel loaded, String signatureKey) {
    MetaGraphDef metaGraph = loaded.metaGraph();
    Path directory = loaded.directory();
    SignatureDef signature = metaGraph.getSignatureDefMap().get(signatureKey);
    if (signature == null || signatureKey.equals(INIT_OP_KEY)) {
      Set<String> keys = new TreeSet<>(metaGraph.getSignatureDefMap().keySet());
      keys.remove(INIT_OP_KEY);
      throw new IllegalArgumentException(
          "signatureKey \""
              + signatureKey
              + "\" names no signature of "
              + directory
              + "; its signatures are "
              + keys);
    }
    if (!ObjectGraphSignature.applies(metaGraph)) {
      throw new SavedModelException(
          directory
              + " has no object graph (it is not a TF2 or Keras SavedModel): its variables"
              + " cannot be mapped to trainable resource variables");
    }
    String source = directory + ", signature " + signatureKey;
    Graph graph = loaded.bundle().graph();
    Map<String, Output<?>> inputs = tensors(graph, signature.getInputsMap(), source, "input");
    Map<String, Output<?>> named = tensors(graph, signature.getOutputsMap(), source, "output");

    FunctionInliner inliner = new FunctionInliner(graph, metaGraph, source);
    String prefix = GraphNames.unusedScope(graph, "trainable_" + opNameSafe(signatureKey)) + "/";
    Map<String, NodeDef> nodes = new HashMap<>();
    metaGraph.getGraphDef().getNodeList().forEach(n -> nodes.put(n.getName(), n));
    Map<String, List<Output<?>>> calls = new HashMap<>();
    Map<String, Output<?>> outputs = new LinkedHashMap<>();
    for (Map.Entry<String, Output<?>> entry : named.entrySet()) {
      Output<?> tensor = entry.getValue();
      NodeDef node = nodes.get(tensor.op().name());
      if (node != null && inliner.isCall(node)) {
        // Outputs of one call share one inlined body.
        List<Output<?>> results =
            calls.computeIfAbsent(
                node.getName(), k -> inliner.inlineCall(node, arguments(graph, node), prefix));
        outputs.put(entry.getKey(), results.get(tensor.index()));
      } else {
        // Already ordinary ops of the graph (e.g. a constant output): nothing to inline.
        outputs.put(entry.getKey(), tensor);
      }
    }

    List<FunctionInliner.InlinedOp> body = inliner.inlined();
    Set<String> readVariables = new TreeSet<>();
    for (FunctionInliner.InlinedOp op : body) {
      for (Output<?> input : op.inputs()) {
        if (input.op().type().equals("VarHandleOp")) {
          readVariables.add(input.op().name());
        }
      }
    }
    List<ModelVariable> trainable = new ArrayList<>();
    List<Operand<?>> handles = new ArrayList<>();
    List<Output<?>> handleOutputs = new ArrayList<>();
    for (ModelVariable variable : loaded.variables()) {
      if (variable.trainable() && readVariables.contains(variable.name())) {
        Output<?> handle = graph.operationOrThrow(variable.name()).output(0);
        trainable.add(variable);
        handles.add(handle);
        handleOutputs.add(handle);
      }
    }
    GradientCoverage.check(source, body, handleOutputs, List.copyOf(outputs.values()));
    return new TrainableSavedModel(
        loaded,
        signatureKey,
        Map.copyOf(inputs),
        Collections.unmodifiableMap(outputs),
        List.copyOf(trainable),
        List.copyOf(handles));
  }

  /** The graph tensors that {@code call}'s data inputs name, in order. */
  private static List<Output<?>> arguments(Graph graph, NodeDef call) {
    List<Output<?>> arguments = new ArrayList<>();
    for (String input : call.getInputList()) {
      if (!input.startsWith("^")) {
        arguments.add(graph.outputOrThrow(input));
      }
    }
    return arguments;
  }

  /** {@code key} with every character that an op name may not hold replaced by {@code _}. */
  private static String opNameSafe(String key) {
    return key.replaceAll("[^A-Za-z0-9_.\\-]", "_");
  }

  /** The graph tensors a signature names, by key, in key order. */
  private static Map<String, Output<?>> tensors(
      Graph graph, Map<String, TensorInfo> infos, String source, String what) {
    Map<String, Output<?>> tensors = new LinkedHashMap<>();
    for (String key : new TreeSet<>(infos.keySet())) {
      TensorInfo info = infos.get(key);
      if (info.getEncodingCase() != TensorInfo.EncodingCase.NAME) {
        throw new SavedModelException(
            source
                + ": "
                + what
                + " "
                + key
                + " is a "
                + info.getEncodingCase()
                + " tensor, not one named graph tensor");
      }
      Output<?> tensor = graph.output(info.getName());
      if (tensor == null || tensor.index() >= tensor.op().numOutputs()) {
        throw new SavedModelException(
            source
                + ": "
                + what
                + " "
                + key
                + " names "
                + info.getName()
                + ", which is not a tensor of the graph");
      }
      tensors.put(key, tensor);
    }
    return tensors;
  }

  /**
   * The loaded graph, which holds the inlined signature; add the loss and training ops here.
   *
   * @return the graph of {@link #session()}, owned by this object and closed with it
   */
  public Graph graph() {
    return loaded.bundle().graph();
  }

  /**
   * The session of the loaded model, its variables restored from the SavedModel. Closed by {@link
   * #close()}.
   *
   * @return the session that runs {@link #graph()}; do not close it yourself
   */
  public Session session() {
    return loaded.bundle().session();
  }

  /**
   * The tensor to feed for the signature's input {@code key}: the same placeholder that the model's
   * own call reads, so one feed serves both.
   *
   * @param key the name of one of the signature's inputs, e.g. {@code x}
   * @return the placeholder output that the signature's input {@code key} names
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if the signature has no input {@code key}
   */
  public Output<?> input(String key) {
    return lookUp(inputs, "input", key);
  }

  /** The tensor of the signature's {@code kind} ("input" or "output") named {@code key}. */
  private Output<?> lookUp(Map<String, Output<?>> tensors, String kind, String key) {
    Objects.requireNonNull(key, "key must not be null");
    Output<?> tensor = tensors.get(key);
    if (tensor == null) {
      throw new IllegalArgumentException(
          "key \""
              + key
              + "\" names no "
              + kind
              + " of signature "
              + signatureKey
              + "; its "
              + kind
              + "s are "
              + new TreeSet<>(tensors.keySet()));
    }
    return tensor;
  }

  /**
   * The signature's output {@code key}, computed by the inlined ops: its value equals the model's
   * own signature output, and gradients of it reach {@link #trainableVariables()}.
   *
   * @param <T> the output's tensor type
   * @param key the name of one of the signature's outputs
   * @param type the output's tensor type, e.g. {@code TFloat32.class} for {@code DT_FLOAT}
   * @return the inlined op's output, typed as {@code type}
   * @throws NullPointerException if {@code key} or {@code type} is null
   * @throws IllegalArgumentException if the signature has no output {@code key}, or its dtype is
   *     not that of {@code type}
   */
  public <T extends TType> Operand<T> output(String key, Class<T> type) {
    Objects.requireNonNull(type, "type must not be null");
    Output<?> output = lookUp(outputs, "output", key);
    DataType wanted;
    try {
      wanted = TensorTypeRegistry.find(type).dataType();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "type " + type.getName() + " is not a tensor type of one dtype (e.g. TFloat32)", e);
    }
    if (output.dataType() != wanted) {
      throw new IllegalArgumentException(
          "output "
              + key
              + " of signature "
              + signatureKey
              + " has dtype "
              + output.dataType()
              + ", so it cannot be taken as "
              + type.getSimpleName()
              + " ("
              + wanted
              + ")");
    }
    return output.expect(type);
  }

  /**
   * The handles ({@code DT_RESOURCE}, the {@code VarHandleOp} outputs) of the variables that the
   * inlined signature reads and that the model's object graph marks trainable, sorted by variable
   * name. Gradients with respect to a handle sum over all of its reads. A Keras model's kernels,
   * biases and {@code BatchNormalization} gamma and beta are trainable; moving statistics,
   * optimizer slots and metric counters are not.
   *
   * @return an immutable list of handles, ready to pass as the weights of {@code L1L2.minimize} or
   *     the variables of a proximal optimizer's {@code minimize}; empty when the signature reads no
   *     trainable variable
   */
  public List<Operand<?>> trainableVariables() {
    return handles;
  }

  /**
   * Writes the model with the session's current variable values to the new directory {@code
   * directory}: the MetaGraphDef as it was read (every signature unchanged, none of the ops added
   * to {@link #graph()} since), the variables saved through the model's own {@code saver_def}, and
   * the directory's other files ({@code assets/}, {@code keras_metadata.pb}) except {@code
   * fingerprint.pb}, which would no longer match.
   *
   * <p>Atomic: written into a hidden temporary sibling, renamed into place when complete.
   *
   * @param directory the directory to create; it must not exist, its parent must
   * @throws NullPointerException if {@code directory} is null
   * @throws SavedModelException if {@code directory} exists, its parent does not, the SavedModel
   *     holds more than one MetaGraphDef, or TensorFlow cannot save the variables; nothing is
   *     written then
   */
  public void exportTo(Path directory) {
    Objects.requireNonNull(directory, "directory must not be null");
    loaded.exportCopy(directory);
  }

  /**
   * Writes the model as {@link #exportTo(Path)} does, with a {@code regularization} signature added
   * as the {@code tf-l1l2 regularize} command adds it (to {@code signature_def} and to the object
   * graph), over the {@link #trainableVariables()} that {@code regularizer} selects.
   *
   * @param directory the directory to create; it must not exist, its parent must
   * @param regularizer the coefficients and selection ({@code on}, matched against variable names)
   *     of the added signature; its reduction and {@code xla} setting are ignored
   * @return the penalty of the exported values, as the added signature computes it (float32,
   *     widened)
   * @throws IllegalArgumentException if {@code regularizer} selects none of the trainable
   *     variables; nothing is written then
   * @throws SavedModelException as for {@link #exportTo(Path)}
   */
  public PenaltyReport exportTo(Path directory, L1L2 regularizer) {
    Objects.requireNonNull(directory, "directory must not be null");
    Objects.requireNonNull(regularizer, "regularizer must not be null");
    List<ModelVariable> selected = new ArrayList<>();
    for (ModelVariable variable : trainable) {
      if (variable.isFloating()) {
        selected.add(variable);
      }
    }
    return loaded.exportRegularized(regularizer, selected, directory);
  }

  /** Closes the loaded model: its session and graph, with everything built in it. */
  @Override
  public void close() {
    loaded.close();
  }
}
