package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.internal.FloatingTypes;
import io.github.tfl1l2.savedmodel.export.AtomicDirectory;
import io.github.tfl1l2.savedmodel.export.ObjectGraphSignature;
import io.github.tfl1l2.savedmodel.export.PenaltyMeasurement;
import io.github.tfl1l2.savedmodel.export.RegularizationOutputs;
import io.github.tfl1l2.savedmodel.export.RegularizedCopy;
import io.github.tfl1l2.savedmodel.export.SignatureDefs;
import io.github.tfl1l2.savedmodel.load.ElementCounts;
import io.github.tfl1l2.savedmodel.load.GraphNames;
import io.github.tfl1l2.savedmodel.load.GraphVariables;
import io.github.tfl1l2.savedmodel.load.ModelDirectory;
import io.github.tfl1l2.savedmodel.load.ObjectGraphRestore;
import io.github.tfl1l2.savedmodel.load.SavedModelProto;
import io.github.tfl1l2.savedmodel.load.TrainableFlags;
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
import org.tensorflow.SavedModelBundle;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;

/**
 * An existing SavedModel, loaded to measure its L1L2 penalty or to re-export it with a {@value
 * RegularizationSignature#KEY} signature.
 *
 * <p>Works with TF2/Keras SavedModels (variables are {@code VarHandleOp}s, trainable flags come
 * from the object graph), TF1-style graphs ({@code VariableV2}, {@code trainable_variables}
 * collection) and TF-Java exports (see {@link TrainableSource}). Opening validates the directory
 * first, so that the common mistakes fail with one line naming the directory instead of a native
 * stack trace.
 *
 * <pre>{@code
 * try (LoadedSavedModel model = LoadedSavedModel.open(Path.of("my-model"))) {
 *   L1L2 config = L1L2.builder().l2(0.01).on("kernel").build();
 *   List<ModelVariable> variables = model.select(config, false);
 *   PenaltyReport report = model.penalty(config, variables);
 *   model.exportRegularized(config, variables, Path.of("my-model-regularized"));
 * }
 * }</pre>
 *
 * <p>Not thread-safe: each call adds ops to the loaded graph.
 */
public final class LoadedSavedModel implements AutoCloseable {
  /** The tag of the MetaGraphDef that is loaded (the one TF Serving serves). */
  public static final String SERVE_TAG = SavedModelBundle.DEFAULT_TAG;

  private final Path directory;
  private final SavedModel savedModel;
  private final int metaGraphIndex;
  private final SavedModelBundle bundle;
  private final List<ModelVariable> variables;
  private final TrainableSource trainableSource;

  /**
   * Variables that hold no value after loading: no restore op and no object-graph node sets them.
   */
  private final Set<String> empty;

  private LoadedSavedModel(
      Path directory,
      SavedModel savedModel,
      int metaGraphIndex,
      SavedModelBundle bundle,
      List<ModelVariable> variables,
      TrainableSource trainableSource,
      Set<String> empty) {
    this.directory = directory;
    this.savedModel = savedModel;
    this.metaGraphIndex = metaGraphIndex;
    this.bundle = bundle;
    this.variables = variables;
    this.trainableSource = trainableSource;
    this.empty = empty;
  }

  /**
   * Opens the MetaGraphDef tagged {@value #SERVE_TAG}; see {@link #open(Path, String)}.
   *
   * @param directory a SavedModel directory (holding {@code saved_model.pb} and {@code variables/})
   * @return the loaded model, to be closed by the caller
   * @throws SavedModelException as for {@link #open(Path, String)}
   */
  public static LoadedSavedModel open(Path directory) {
    return open(directory, SERVE_TAG);
  }

  /**
   * Validates {@code directory} and loads its MetaGraphDef tagged {@code tag} with its variables.
   *
   * <p>After TensorFlow's loader ran the SavedModel's own restore op, the variables it left
   * uninitialized that a function of the object graph reads are restored from the checkpoint by the
   * object graph, as TensorFlow's Python loader restores them (a Keras 3 model saved with {@code
   * tf.saved_model.save} needs this; see {@link ObjectGraphRestore}).
   *
   * @param directory a SavedModel directory (holding {@code saved_model.pb} and {@code variables/})
   * @param tag the tag of the MetaGraphDef to load, e.g. {@value #SERVE_TAG}
   * @return the loaded model, to be closed by the caller (it owns a TensorFlow session)
   * @throws NullPointerException if {@code directory} or {@code tag} is null
   * @throws SavedModelException with a one-line message if the directory is missing, is not a
   *     SavedModel, holds an entry that cannot be read safely (a symbolic link loop, a FIFO, an
   *     unreadable file), has no MetaGraphDef with {@code tag}, lacks the variables its graph
   *     needs, a tensor or shape in its graph has an element count that overflows 64 bits (which
   *     would abort TensorFlow), TensorFlow cannot load it (e.g. a corrupt variables file), or a
   *     variable that a function reads can be restored neither by the restore op nor by the object
   *     graph (the message names it). Some corrupt graphs make TensorFlow's native code abort the
   *     process instead; the command line guards against that by loading in a child process.
   */
  public static LoadedSavedModel open(Path directory, String tag) {
    Objects.requireNonNull(directory, "directory must not be null");
    Objects.requireNonNull(tag, "tag must not be null");
    ModelDirectory.checkFiles(directory);
    SavedModel savedModel = SavedModelProto.read(directory);
    int index = SavedModelProto.metaGraphIndex(directory, savedModel, tag);
    MetaGraphDef metaGraph = savedModel.getMetaGraphs(index);
    ModelDirectory.checkVariables(directory, GraphVariables.count(metaGraph.getGraphDef()));
    ElementCounts.check(directory, metaGraph);
    SavedModelBundle bundle;
    try {
      bundle = SavedModelBundle.load(directory.toString(), tag);
    } catch (RuntimeException e) {
      throw new SavedModelException(
          directory + ": TensorFlow cannot load it: " + SavedModelException.firstLine(e), e);
    }
    try {
      // The C++ loader restores what the saver_def restores; a Keras 3 model saved with
      // tf.saved_model.save needs the object graph's keys for the handles its functions read.
      Set<String> empty =
          ObjectGraphRestore.restore(directory, metaGraph, bundle.graph(), bundle.session());
      TrainableFlags flags = TrainableFlags.of(metaGraph);
      List<ModelVariable> variables = new ArrayList<>();
      for (ModelVariable variable : GraphVariables.list(metaGraph.getGraphDef(), flags)) {
        variables.add(
            empty.contains(variable.name())
                ? new ModelVariable(
                    variable.name(), variable.opType(), variable.dtype(), variable.shape(), false)
                : variable);
      }
      return new LoadedSavedModel(
          directory, savedModel, index, bundle, List.copyOf(variables), flags.source(), empty);
    } catch (RuntimeException e) {
      bundle.close();
      throw e;
    }
  }

  /**
   * The directory the model was loaded from.
   *
   * @return the path given to {@code open}, as given
   */
  public Path directory() {
    return directory;
  }

  /**
   * Every variable of the graph ({@code VarHandleOp}, {@code VariableV2}), sorted by name.
   *
   * <p>A resource variable that holds no value after loading (neither the SavedModel's restore op
   * nor its object graph restores it, and no function of the model reads it, as the duplicate
   * handles of a Keras 3 {@code model.export()} archive) is listed as not trainable, and {@link
   * #select} never selects it.
   *
   * @return an immutable list, of every dtype (not only floating ones), trainable or not
   */
  public List<ModelVariable> variables() {
    return variables;
  }

  /**
   * Where the {@link ModelVariable#trainable()} flags come from.
   *
   * @return the object graph, the TF1 {@code trainable_variables} collection, or neither (every
   *     variable then counts as trainable)
   */
  public TrainableSource trainableSource() {
    return trainableSource;
  }

  /**
   * The keys of the loaded MetaGraphDef's signatures, sorted.
   *
   * @return a new sorted set of the signature keys, e.g. {@code serving_default}; as read from the
   *     directory, not counting signatures added since
   */
  public Set<String> signatureKeys() {
    return new TreeSet<>(savedModel.getMetaGraphs(metaGraphIndex).getSignatureDefMap().keySet());
  }

  /**
   * The loaded bundle; it stays owned by this object and closes with it.
   *
   * @return the bundle whose graph and session every call of this object uses; do not close it
   */
  public SavedModelBundle bundle() {
    return bundle;
  }

  /**
   * The variables that {@code config} regularizes: floating-point variables ({@link
   * ModelVariable#isFloating()}), trainable ones only unless {@code includeNonTrainable}, that
   * {@link L1L2#selects(String) config.selects} by name, and that hold a value (see {@link
   * #variables()}).
   *
   * @param config the regularizer whose {@code on(regex)} selects by variable name
   * @param includeNonTrainable true to select non-trainable variables too (optimizer slots, moving
   *     statistics, …), false for trainable ones only
   * @return the selection in {@link #variables()} order; empty when nothing matches
   */
  public List<ModelVariable> select(L1L2 config, boolean includeNonTrainable) {
    Objects.requireNonNull(config, "config must not be null");
    List<ModelVariable> selected = new ArrayList<>();
    for (ModelVariable variable : variables) {
      if (variable.isFloating()
          && !empty.contains(variable.name())
          && (includeNonTrainable || variable.trainable())
          && config.selects(variable.name())) {
        selected.add(variable);
      }
    }
    return selected;
  }

  /**
   * Computes the penalty of {@code selected} with the model's own graph and session.
   *
   * @param config the regularizer; its reduction is ignored (the report has both sums and rows)
   * @param selected variables of this model, e.g. from {@link #select(L1L2, boolean)}
   * @return the total penalty, Σ|w| and Σw², and one row per variable of {@code selected}: the
   *     graph's float32 outputs (summed in float64 or float32, per variable dtype), widened to
   *     double
   * @throws IllegalArgumentException if {@code selected} is empty, holds a variable of another
   *     model or a non-floating one, or {@code config.on()} matches none of them
   * @throws SavedModelException if TensorFlow cannot compute it (e.g. a corrupt graph leaves a
   *     variable uninitialized)
   */
  public PenaltyReport penalty(L1L2 config, List<ModelVariable> selected) {
    Objects.requireNonNull(config, "config must not be null");
    RegularizationOutputs outputs =
        RegularizationOutputs.emit(
            Ops.create(bundle.graph()),
            bundle.graph(),
            "penalty_report",
            config,
            reads(selected),
            config.xla());
    return PenaltyMeasurement.run(directory, bundle.session(), config, outputs, selected);
  }

  /**
   * Writes a copy of this SavedModel to {@code out} with a {@value RegularizationSignature#KEY}
   * signature over {@code selected} added, replacing one that exists, and reports the penalty that
   * signature computes.
   *
   * <p>Everything else is kept: the graph (extended by the signature's ops), every signature, the
   * object graph and collections of the MetaGraphDef, every variable value (saved through the
   * model's own saver), and the directory's other files such as {@code assets/} and {@code
   * keras_metadata.pb}, except {@code fingerprint.pb}, which would no longer match. The model is
   * written to a temporary sibling of {@code out} and renamed into place only after the new
   * signature's outputs were computed, so a graph on which they fail leaves nothing; the input
   * directory is only read.
   *
   * @param config the regularizer the signature computes; its reduction is ignored, and the
   *     signature is not XLA-marked
   * @param selected variables of this model the signature regularizes, e.g. from {@link
   *     #select(L1L2, boolean)}
   * @param out the directory to create; it must not exist, its parent must
   * @return the values of the added signature's outputs, one row per regularized variable
   * @throws SavedModelException if {@code out} exists, its parent does not, the SavedModel holds
   *     more than one MetaGraphDef (the others would be lost), TensorFlow cannot save the variables
   *     or compute the penalty, or writing fails
   * @throws IllegalArgumentException as for {@link #penalty(L1L2, List)}
   */
  public PenaltyReport exportRegularized(L1L2 config, List<ModelVariable> selected, Path out) {
    Objects.requireNonNull(config, "config must not be null");
    Objects.requireNonNull(out, "out must not be null");
    checkOneMetaGraph();
    // Checked before any op is added, so that a refused export leaves the graph as it was.
    ExportDirectory.checkAvailable(out, OUT);
    RegularizationOutputs outputs =
        RegularizationOutputs.emit(
            Ops.create(bundle.graph()),
            bundle.graph(),
            RegularizationSignature.KEY,
            config,
            reads(selected),
            false);
    MetaGraphDef written = regularizedMetaGraph(config, selected, outputs);
    return AtomicDirectory.create(
        out,
        OUT,
        temporary -> {
          RegularizedCopy.write(directory, savedModel, metaGraphIndex, bundle, written, temporary);
          return PenaltyMeasurement.run(directory, bundle.session(), config, outputs, selected);
        });
  }

  /**
   * Writes a copy of this SavedModel to {@code out} with the session's current variable values and
   * the MetaGraphDef exactly as it was read: no op added to the loaded graph since is written. The
   * rules are those of {@link #exportRegularized} (atomic, other files copied, fingerprint
   * dropped).
   *
   * @throws SavedModelException as for {@link #exportRegularized}
   */
  void exportCopy(Path out) {
    Objects.requireNonNull(out, "out must not be null");
    checkOneMetaGraph();
    AtomicDirectory.create(
        out,
        OUT,
        temporary -> {
          RegularizedCopy.write(
              directory,
              savedModel,
              metaGraphIndex,
              bundle,
              savedModel.getMetaGraphs(metaGraphIndex),
              temporary);
          return null;
        });
  }

  /** The MetaGraphDef that was loaded, as it was read from {@code saved_model.pb}. */
  MetaGraphDef metaGraph() {
    return savedModel.getMetaGraphs(metaGraphIndex);
  }

  /**
   * Refuses to re-export a SavedModel with several MetaGraphDefs: only the loaded one's variables
   * can be saved, so the others would lose theirs.
   */
  private void checkOneMetaGraph() {
    if (savedModel.getMetaGraphsCount() != 1) {
      throw new SavedModelException(
          directory
              + " holds "
              + savedModel.getMetaGraphsCount()
              + " MetaGraphDefs (tag sets "
              + SavedModelProto.tagSets(savedModel)
              + "); only SavedModels with one can be re-exported without losing the others");
    }
  }

  /**
   * The MetaGraphDef to write. A model with an object graph (TF2, Keras) gets the signature there
   * too, as a call of one graph function, and keeps the rest as it was read ({@link
   * ObjectGraphSignature}); any other model is written with the loaded graph, which now holds the
   * signature's ops.
   */
  private MetaGraphDef regularizedMetaGraph(
      L1L2 config, List<ModelVariable> selected, RegularizationOutputs outputs) {
    MetaGraphDef loaded = savedModel.getMetaGraphs(metaGraphIndex);
    if (ObjectGraphSignature.applies(loaded)) {
      return ObjectGraphSignature.add(
          directory.toString(), loaded, bundle.graph(), config, selected);
    }
    return loaded.toBuilder()
        .setGraphDef(bundle.graph().toGraphDef())
        .putSignatureDef(RegularizationSignature.KEY, SignatureDefs.of(outputs.signature()))
        .build();
  }

  /** Closes the bundle: its session and graph. */
  @Override
  public void close() {
    bundle.close();
  }

  /** How messages name the {@code out} argument of {@link #exportRegularized}. */
  private static final String OUT = "output directory";

  /** Reads of {@code selected} in the loaded graph, keyed by variable name. */
  private Map<String, Operand<?>> reads(List<ModelVariable> selected) {
    Objects.requireNonNull(selected, "selected must not be null");
    Graph graph = bundle.graph();
    Ops tf = Ops.create(graph).withSubScope(GraphNames.unusedScope(graph, "variable_reads"));
    Map<String, Operand<?>> reads = new LinkedHashMap<>();
    for (ModelVariable variable : selected) {
      if (!variables.contains(variable)) {
        throw new IllegalArgumentException(
            "variable " + variable.name() + " is not one of the variables of " + directory);
      }
      FloatingTypes.requireFloating("variable " + variable.name(), variable.dtype());
      Operand<?> handle = graph.operation(variable.name()).output(0);
      reads.put(
          variable.name(),
          variable.opType().equals("VarHandleOp")
              ? tf.readVariableOp(handle, TensorTypeRegistry.find(variable.dtype()).type())
              : handle);
    }
    return reads;
  }
}
