package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.gradients.MissingGradients;
import io.github.tfl1l2.savedmodel.export.ObjectGraphSignature;
import io.github.tfl1l2.savedmodel.inline.GradientCoverage;
import io.github.tfl1l2.savedmodel.inline.GraphSignature;
import io.github.tfl1l2.savedmodel.inline.ModelLosses;
import io.github.tfl1l2.savedmodel.inline.SignatureBody;
import io.github.tfl1l2.savedmodel.inline.SignatureInliner;
import io.github.tfl1l2.savedmodel.inline.TrainingModeCall;
import io.github.tfl1l2.savedmodel.load.GraphNames;
import java.nio.file.Path;
import java.util.ArrayList;
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
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * A SavedModel loaded for fine-tuning: one signature of a TF2 or Keras model has its function
 * inlined into the loaded graph, so that {@code Graph.addGradients} reaches the variables it reads
 * (a TF1 model's signature needs no inlining), and the trained values can be exported as a
 * SavedModel again.
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
 * model's own call: assigning a variable changes both. Which computation is inlined is Keras's
 * {@code training} argument ({@link Mode}):
 *
 * <ul>
 *   <li>{@link Mode#INFERENCE} (the default): the signature's own function, {@code training=False}.
 *       {@code BatchNormalization} normalizes with its moving statistics and does not update them,
 *       {@code Dropout} passes its input through.
 *   <li>{@link Mode#TRAINING}: the model's call that Keras 2 saved traced with {@code
 *       training=True}, on the signature's inputs, its outputs under the signature's keys. {@code
 *       Dropout} draws a new mask each run; {@code BatchNormalization} normalizes with the batch's
 *       statistics and updates its moving statistics (by the layer's momentum) in every run that
 *       evaluates an output, so once per training step. Only Keras 2 SavedModels have that call.
 * </ul>
 *
 * <p>{@link #modelLosses()} is the model's own regularization losses, Keras's {@code
 * sum(model.losses)}: add it to the data loss for Keras's training objective.
 *
 * <pre>{@code
 * try (TrainableSavedModel model = TrainableSavedModel.open(dir, "serving_default", Mode.TRAINING)) {
 *   Operand<TFloat32> loss =
 *       tf.math.add(dataLoss(model.output("dense_1", TFloat32.class)), model.modelLosses());
 *   Op step = reg.minimize(optimizer, loss, model.trainableVariables());
 * }
 * }</pre>
 *
 * <p>A TF1 SavedModel (no object graph: TF Serving's classic models, estimators, TF-Java exports)
 * is used as it is: its signature's tensors are ordinary ops over its variables, reference ({@code
 * VariableV2}) or resource, and its trainable variables are those of the {@code
 * trainable_variables} collection that the signature reads.
 *
 * <p>Keras recurrent layers ({@code LSTM}, {@code GRU}, their {@code Bidirectional} pairs and
 * masked forms) train: their loop runs over the input's static number of timesteps, so it is
 * unrolled into one copy of its body per step, and the generic member of Keras's cuDNN/generic
 * implementation pair is the one inlined.
 *
 * <p>Functional control flow ({@code If}, {@code While}, {@code Case}) that no variable reaches,
 * such as a vocabulary lookup's {@code cond}, stays one node calling its functions. Refused at
 * {@link #open}, naming the node: control flow that a variable reaches and that cannot be unrolled
 * ({@code If}, {@code Case}, a loop whose trip count is known only when the graph runs, such as a
 * recurrent layer over a time axis of unknown length), bodies that write a variable (in {@link
 * Mode#TRAINING}: any but a moving statistic or a random generator's state), and an op without a
 * gradient between a trainable variable and an output (for example a TF1 {@code Merge}); in {@link
 * Mode#TRAINING} also a model without a training-mode call (TF1, Keras 3 {@code model.export()}, a
 * plain {@code tf.Module}) or with none that takes the signature's inputs.
 *
 * <p>Not thread-safe.
 */
public final class TrainableSavedModel implements AutoCloseable {
  /**
   * Which of the model's computations {@link #open(Path, String, Mode)} inlines: Keras's {@code
   * training} argument.
   */
  public enum Mode {
    /**
     * The signature's own function, Keras's {@code training=False}: Dropout passes its input
     * through, BatchNormalization normalizes with its moving statistics and leaves them as they
     * are. The default of {@link #open(Path)} and {@link #open(Path, String)}.
     */
    INFERENCE,
    /**
     * The model's own call traced with {@code training=True}, wired to the signature's inputs and
     * outputs: Dropout draws a new mask each run, BatchNormalization normalizes with the batch's
     * statistics, and each run that evaluates an output updates its moving statistics once (with
     * the layer's momentum), as Keras's {@code model(x, training=True)} does.
     */
    TRAINING
  }

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
  private Operand<TFloat32> modelLosses;

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
   *     LoadedSavedModel#open(Path, String)}), or the signature's body cannot be inlined or
   *     differentiated; the message names the node
   */
  public static TrainableSavedModel open(Path directory, String signatureKey) {
    return open(directory, signatureKey, Mode.INFERENCE);
  }

  /**
   * Loads the MetaGraphDef tagged {@code serve} of the SavedModel in {@code directory}, its
   * variables restored, and inlines the computation that {@code mode} names for signature {@code
   * signatureKey}: the signature's own function ({@link Mode#INFERENCE}, as {@link #open(Path,
   * String)}), or the model's training-mode call wired to the signature's inputs and outputs
   * ({@link Mode#TRAINING}).
   *
   * @param directory a SavedModel; {@link Mode#TRAINING} needs a Keras 2 one
   * @param signatureKey the key of one of its signatures, e.g. {@code serving_default}
   * @param mode which computation to inline
   * @return the model with that computation inlined, to be closed by the caller (it owns the loaded
   *     session and graph)
   * @throws NullPointerException if {@code directory}, {@code signatureKey} or {@code mode} is null
   * @throws IllegalArgumentException if the model has no signature {@code signatureKey} (the
   *     message lists those it has)
   * @throws SavedModelException with a one-line message as for {@link #open(Path, String)}, and for
   *     {@link Mode#TRAINING}: if the model has no training-mode call (a TF1 graph, a Keras 3
   *     {@code model.export()}, a plain {@code tf.Module}; the message says what was looked for,
   *     and nothing is inlined), if no training-mode call takes the signature's inputs (naming
   *     both), or if the call writes a variable other than a BatchNormalization moving statistic or
   *     a Dropout random generator's state (naming the node, its op and the variable)
   */
  public static TrainableSavedModel open(Path directory, String signatureKey, Mode mode) {
    Objects.requireNonNull(directory, "directory must not be null");
    Objects.requireNonNull(signatureKey, "signatureKey must not be null");
    Objects.requireNonNull(mode, "mode must not be null");
    // Before the coverage check asks which ops have a gradient, and before the caller's first
    // step: the gradients TensorFlow's C++ registry lacks count as present.
    MissingGradients.register();
    LoadedSavedModel loaded = LoadedSavedModel.open(directory);
    try {
      return inline(loaded, signatureKey, mode);
    } catch (RuntimeException e) {
      loaded.close();
      throw e;
    }
  }

  private static TrainableSavedModel inline(
      LoadedSavedModel loaded, String signatureKey, Mode mode) {
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
    String source = directory + ", signature " + signatureKey;
    Graph graph = loaded.bundle().graph();
    Map<String, Output<?>> inputs = tensors(graph, signature.getInputsMap(), source, "input");
    Map<String, Output<?>> named = tensors(graph, signature.getOutputsMap(), source, "output");
    // A TF2 or Keras model computes its signature by calling a traced function: inline it. A TF1
    // graph computes it with ordinary ops over its variables already.
    // In training mode: the model's training=True call in place of the signature's function.
    TrainingModeCall training =
        mode == Mode.TRAINING
            ? TrainingModeCall.inline(
                graph,
                metaGraph,
                signatureKey,
                inputs,
                named.keySet(),
                GraphNames.unusedScope(graph, "trainable_" + opNameSafe(signatureKey)) + "/",
                source)
            : null;
    SignatureBody body =
        training != null
            ? training.body()
            : ObjectGraphSignature.applies(metaGraph)
                ? SignatureInliner.inline(
                    graph, metaGraph, source, "trainable_" + opNameSafe(signatureKey), named)
                : GraphSignature.asIs(graph, named);
    Map<String, Output<?>> outputs = body.outputs();
    Set<String> readVariables = body.readVariables();
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
    GradientCoverage.check(source, body.ops(), handleOutputs, List.copyOf(outputs.values()));
    if (training != null) {
      outputs = training.orderedOutputs(graph);
    }
    return new TrainableSavedModel(
        loaded,
        signatureKey,
        Map.copyOf(inputs),
        outputs,
        List.copyOf(trainable),
        List.copyOf(handles));
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

  /**
   * The model's own regularization losses, Keras's {@code sum(model.losses)}: the penalties its
   * layers declare ({@code kernel_regularizer=L2(0.01)} adds {@code 0.01·Σw²} of that kernel),
   * computed by the functions Keras saved for them over the model's current variables. Adding it to
   * a data loss gives Keras's training objective; {@code reg.minimize} adds the project's penalty
   * on top. The same in both modes. Built in {@link #graph()} at the first call.
   *
   * @return a float32 scalar; the constant 0 for a model whose layers declare no regularizer (and
   *     for a model that is no Keras 2 SavedModel)
   * @throws SavedModelException if a saved loss function cannot be inlined, or does not return one
   *     float32 scalar
   */
  public Operand<TFloat32> modelLosses() {
    if (modelLosses == null) {
      Graph graph = graph();
      modelLosses =
          ModelLosses.build(
              graph,
              loaded.metaGraph(),
              loaded.directory() + ", signature " + signatureKey,
              GraphNames.unusedScope(graph, "model_losses_" + opNameSafe(signatureKey)) + "/");
    }
    return modelLosses;
  }

  /** Closes the loaded model: its session and graph, with everything built in it. */
  @Override
  public void close() {
    loaded.close();
  }
}
