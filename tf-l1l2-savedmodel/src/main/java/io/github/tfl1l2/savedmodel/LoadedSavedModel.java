package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.Reduction;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.CollectionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.proto.VariableDef;
import org.tensorflow.types.TFloat32;

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

  private static final String SAVED_MODEL_PB = "saved_model.pb";
  private static final String SAVED_MODEL_PBTXT = "saved_model.pbtxt";
  private static final String VARIABLES_DIR = "variables";
  /** Hashes the exact files of the input; they change on re-export, so it is not carried over. */
  private static final String FINGERPRINT_PB = "fingerprint.pb";

  private static final Set<String> VARIABLE_OPS = Set.of("VarHandleOp", "VariableV2", "Variable");
  private static final Pattern UNIQUIFIED = Pattern.compile("(.+)_(\\d+)");

  private final Path directory;
  private final SavedModel savedModel;
  private final int metaGraphIndex;
  private final SavedModelBundle bundle;
  private final List<ModelVariable> variables;
  private final TrainableSource trainableSource;

  private LoadedSavedModel(
      Path directory,
      SavedModel savedModel,
      int metaGraphIndex,
      SavedModelBundle bundle,
      List<ModelVariable> variables,
      TrainableSource trainableSource) {
    this.directory = directory;
    this.savedModel = savedModel;
    this.metaGraphIndex = metaGraphIndex;
    this.bundle = bundle;
    this.variables = variables;
    this.trainableSource = trainableSource;
  }

  /** Opens the MetaGraphDef tagged {@value #SERVE_TAG}; see {@link #open(Path, String)}. */
  public static LoadedSavedModel open(Path directory) {
    return open(directory, SERVE_TAG);
  }

  /**
   * Validates {@code directory} and loads its MetaGraphDef tagged {@code tag} with its variables.
   *
   * @throws SavedModelException with a one-line message if the directory is missing, is not a
   *     SavedModel, holds an entry that cannot be read safely (a symbolic link loop, a FIFO, an
   *     unreadable file), has no MetaGraphDef with {@code tag}, lacks the variables its graph
   *     needs, or TensorFlow cannot load it (e.g. a corrupt variables file). Some corrupt graphs
   *     make TensorFlow's native code abort the process instead; the command line guards against
   *     that by loading in a child process.
   */
  public static LoadedSavedModel open(Path directory, String tag) {
    Objects.requireNonNull(directory, "directory must not be null");
    Objects.requireNonNull(tag, "tag must not be null");
    ModelDirectory.checkFiles(directory);
    SavedModel savedModel = readSavedModelProto(directory);
    int index = metaGraphIndex(directory, savedModel, tag);
    ModelDirectory.checkVariables(directory, (int) savedModel.getMetaGraphs(index).getGraphDef()
        .getNodeList().stream().filter(n -> VARIABLE_OPS.contains(n.getOp())).count());
    SavedModelBundle bundle;
    try {
      bundle = SavedModelBundle.load(directory.toString(), tag);
    } catch (RuntimeException e) {
      throw new SavedModelException(
          directory + ": TensorFlow cannot load it: " + firstLine(e.getMessage()), e);
    }
    MetaGraphDef metaGraph = savedModel.getMetaGraphs(index);
    TrainableSource source = trainableSource(metaGraph);
    return new LoadedSavedModel(
        directory, savedModel, index, bundle, listVariables(metaGraph, source), source);
  }

  /** The directory the model was loaded from. */
  public Path directory() {
    return directory;
  }

  /** Every variable of the graph ({@code VarHandleOp}, {@code VariableV2}), sorted by name. */
  public List<ModelVariable> variables() {
    return variables;
  }

  /** Where the {@link ModelVariable#trainable()} flags come from. */
  public TrainableSource trainableSource() {
    return trainableSource;
  }

  /** The keys of the loaded MetaGraphDef's signatures, sorted. */
  public Set<String> signatureKeys() {
    return new TreeSet<>(metaGraph().getSignatureDefMap().keySet());
  }

  /** The loaded bundle; it stays owned by this object and closes with it. */
  public SavedModelBundle bundle() {
    return bundle;
  }

  /**
   * The variables that {@code config} regularizes: floating-point variables, trainable ones only
   * unless {@code includeNonTrainable}, whose names {@code config.on()} matches.
   *
   * @return the selection in {@link #variables()} order; empty when nothing matches
   */
  public List<ModelVariable> select(L1L2 config, boolean includeNonTrainable) {
    Objects.requireNonNull(config, "config must not be null");
    Pattern on = config.on().map(Pattern::compile).orElse(null);
    List<ModelVariable> selected = new ArrayList<>();
    for (ModelVariable variable : variables) {
      if (variable.isFloating()
          && (includeNonTrainable || variable.trainable())
          && (on == null || on.matcher(variable.name()).find())) {
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
   * @throws IllegalArgumentException if {@code selected} is empty, holds a variable of another
   *     model or a non-floating one, or {@code config.on()} matches none of them
   */
  public PenaltyReport penalty(L1L2 config, List<ModelVariable> selected) {
    Objects.requireNonNull(config, "config must not be null");
    Graph graph = bundle.graph();
    Map<String, Operand<?>> reads = reads(selected);
    Signature signature = RegularizationSignature.create(Ops.create(graph), config, reads);
    Ops tf = Ops.create(graph).withSubScope(
        RegularizationSignature.unusedScopeName(graph, "penalty_report"));
    L1L2 perVariable =
        config.toBuilder().weight(1.0).reduction(Reduction.NONE).xla(false).build();
    Operand<?> l1PerVariable =
        perVariable.toBuilder().l1(1.0).l2(0.0).name("l1_sums").build().penalty(tf, reads);
    Operand<?> l2PerVariable =
        perVariable.toBuilder().l1(0.0).l2(1.0).name("l2_sums").build().penalty(tf, reads);

    Map<String, Signature.TensorDescription> outputs = signature.getOutputs();
    Session.Runner runner = bundle.session().runner();
    runner.fetch(outputs.get(RegularizationSignature.PENALTY).name);
    runner.fetch(outputs.get(RegularizationSignature.L1_SUM).name);
    runner.fetch(outputs.get(RegularizationSignature.L2_SUM).name);
    runner.fetch(outputs.get(RegularizationSignature.PER_VARIABLE).name);
    runner.fetch(l1PerVariable);
    runner.fetch(l2PerVariable);
    try (Result result = runner.run()) {
      double[] penalties = doubles(result.get(3));
      double[] l1Sums = doubles(result.get(4));
      double[] l2Sums = doubles(result.get(5));
      Map<String, ModelVariable> byName = new HashMap<>();
      selected.forEach(v -> byName.put(v.name(), v));
      List<PenaltyReport.VariablePenalty> rows = new ArrayList<>();
      List<String> names = RegularizationSignature.selectedNames(config, reads);
      for (int i = 0; i < names.size(); i++) {
        rows.add(new PenaltyReport.VariablePenalty(
            byName.get(names.get(i)), l1Sums[i], l2Sums[i], penalties[i]));
      }
      return new PenaltyReport(
          config,
          doubles(result.get(0))[0],
          doubles(result.get(1))[0],
          doubles(result.get(2))[0],
          rows);
    }
  }

  /**
   * Writes a copy of this SavedModel to {@code out} with a {@value RegularizationSignature#KEY}
   * signature over {@code selected} added, replacing one that exists.
   *
   * <p>Everything else is kept: the graph (extended by the signature's ops), every signature, the
   * object graph and collections of the MetaGraphDef, every variable value (saved through the
   * model's own saver), and the directory's other files such as {@code assets/} and {@code
   * keras_metadata.pb}, except {@code fingerprint.pb}, which would no longer match. The model is
   * written to a temporary sibling of {@code out} and renamed into place when complete; the input
   * directory is only read.
   *
   * @return the signature that was added
   * @throws SavedModelException if {@code out} exists, its parent does not, the SavedModel holds
   *     more than one MetaGraphDef (the others would be lost), or writing fails
   * @throws IllegalArgumentException as for {@link #penalty(L1L2, List)}
   */
  public Signature exportRegularized(L1L2 config, List<ModelVariable> selected, Path out) {
    Objects.requireNonNull(config, "config must not be null");
    Objects.requireNonNull(out, "out must not be null");
    if (savedModel.getMetaGraphsCount() != 1) {
      throw new SavedModelException(
          directory
              + " holds "
              + savedModel.getMetaGraphsCount()
              + " MetaGraphDefs (tag sets "
              + tagSets(savedModel)
              + "); only SavedModels with one can be re-exported without losing the others");
    }
    if (Files.exists(out.toAbsolutePath(), LinkOption.NOFOLLOW_LINKS)) {
      throw new SavedModelException(out + " already exists; give a directory that does not exist yet");
    }
    Graph graph = bundle.graph();
    Signature signature = RegularizationSignature.create(Ops.create(graph), config, reads(selected));
    AtomicDirectory.create(out, "output directory", temporary -> {
      Path variablesDir = Files.createDirectory(temporary.resolve(VARIABLES_DIR));
      try {
        // The model's own saver writes the same checkpoint keys as the input's (object-based
        // ones for TF2 models), so every loader restores the values as before.
        bundle.session().save(variablesDir.resolve(VARIABLES_DIR).toString());
      } catch (RuntimeException e) {
        throw new IOException("saving the variables failed: " + firstLine(e.getMessage()), e);
      }
      MetaGraphDef metaGraph =
          metaGraph().toBuilder()
              .setGraphDef(graph.toGraphDef())
              .putSignatureDef(RegularizationSignature.KEY, SignatureDefs.of(signature))
              .build();
      SavedModel written = savedModel.toBuilder().setMetaGraphs(metaGraphIndex, metaGraph).build();
      try (OutputStream file = Files.newOutputStream(temporary.resolve(SAVED_MODEL_PB))) {
        written.writeTo(file);
      }
      copyOtherFiles(directory, temporary);
    });
    return signature;
  }

  /** Closes the bundle: its session and graph. */
  @Override
  public void close() {
    bundle.close();
  }

  private MetaGraphDef metaGraph() {
    return savedModel.getMetaGraphs(metaGraphIndex);
  }

  /** Reads of {@code selected} in the loaded graph, keyed by variable name. */
  private Map<String, Operand<?>> reads(List<ModelVariable> selected) {
    Objects.requireNonNull(selected, "selected must not be null");
    Graph graph = bundle.graph();
    Ops tf = Ops.create(graph).withSubScope(
        RegularizationSignature.unusedScopeName(graph, "variable_reads"));
    Map<String, Operand<?>> reads = new LinkedHashMap<>();
    for (ModelVariable variable : selected) {
      if (!variables.contains(variable)) {
        throw new IllegalArgumentException(
            "variable " + variable.name() + " is not one of the variables of " + directory);
      }
      if (!variable.isFloating()) {
        throw new IllegalArgumentException(
            "variable " + variable.name() + " has dtype " + variable.dtypeName()
                + "; only float16, bfloat16, float32 and float64 variables can be regularized");
      }
      Operand<?> handle = graph.operation(variable.name()).output(0);
      reads.put(variable.name(),
          variable.opType().equals("VarHandleOp")
              ? tf.readVariableOp(handle, TensorTypeRegistry.find(variable.dtype()).type())
              : handle);
    }
    return reads;
  }

  /** The values of a float32 scalar or vector (every output the report fetches is float32). */
  private static double[] doubles(Tensor tensor) {
    TFloat32 floats = (TFloat32) tensor;
    if (tensor.shape().numDimensions() == 0) {
      return new double[] {floats.getFloat()};
    }
    double[] values = new double[(int) tensor.shape().size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = floats.getFloat(i);
    }
    return values;
  }

  private static SavedModel readSavedModelProto(Path directory) {
    Path pb = directory.resolve(SAVED_MODEL_PB);
    if (!Files.isRegularFile(pb)) {
      throw new SavedModelException(
          directory
              + " is not a SavedModel: it has no "
              + SAVED_MODEL_PB
              + (Files.exists(directory.resolve(SAVED_MODEL_PBTXT))
                  ? " (" + SAVED_MODEL_PBTXT + ", the text form, is not supported)"
                  : ""));
    }
    SavedModel savedModel;
    try {
      savedModel = SavedModel.parseFrom(Files.readAllBytes(pb));
    } catch (IOException e) {
      throw new SavedModelException(
          directory + " is not a SavedModel: " + SAVED_MODEL_PB + " cannot be parsed ("
              + firstLine(e.getMessage()) + ")", e);
    }
    if (savedModel.getMetaGraphsCount() == 0) {
      throw new SavedModelException(
          directory + " is not a SavedModel: " + SAVED_MODEL_PB + " holds no MetaGraphDef");
    }
    return savedModel;
  }

  private static int metaGraphIndex(Path directory, SavedModel savedModel, String tag) {
    for (int i = 0; i < savedModel.getMetaGraphsCount(); i++) {
      if (savedModel.getMetaGraphs(i).getMetaInfoDef().getTagsList().contains(tag)) {
        return i;
      }
    }
    throw new SavedModelException(
        directory + " has no MetaGraphDef tagged \"" + tag + "\"; its tag sets are "
            + tagSets(savedModel));
  }

  private static List<List<String>> tagSets(SavedModel savedModel) {
    return savedModel.getMetaGraphsList().stream()
        .map(m -> List.copyOf(m.getMetaInfoDef().getTagsList()))
        .toList();
  }

  private static TrainableSource trainableSource(MetaGraphDef metaGraph) {
    if (metaGraph.hasObjectGraphDef()
        && metaGraph.getObjectGraphDef().getNodesList().stream()
            .anyMatch(n -> n.hasVariable() && !n.getVariable().getName().isEmpty())) {
      return TrainableSource.OBJECT_GRAPH;
    }
    if (metaGraph.containsCollectionDef("trainable_variables")) {
      return TrainableSource.TRAINABLE_VARIABLES_COLLECTION;
    }
    return TrainableSource.ALL_ASSUMED_TRAINABLE;
  }

  private static List<ModelVariable> listVariables(MetaGraphDef metaGraph, TrainableSource source) {
    Map<String, List<Boolean>> objectGraphFlags = objectGraphFlags(metaGraph.getObjectGraphDef());
    Set<String> collection = source == TrainableSource.TRAINABLE_VARIABLES_COLLECTION
        ? trainableCollection(metaGraph.getCollectionDefOrThrow("trainable_variables"))
        : Set.of();
    List<ModelVariable> result = new ArrayList<>();
    for (NodeDef node : metaGraph.getGraphDef().getNodeList()) {
      if (!VARIABLE_OPS.contains(node.getOp())) {
        continue;
      }
      boolean trainable = switch (source) {
        case OBJECT_GRAPH -> objectGraphTrainable(objectGraphFlags, node.getName());
        case TRAINABLE_VARIABLES_COLLECTION -> collection.contains(node.getName());
        case ALL_ASSUMED_TRAINABLE -> true;
      };
      result.add(new ModelVariable(
          node.getName(),
          node.getOp(),
          node.getAttrOrDefault("dtype", AttrValue.getDefaultInstance()).getType(),
          shape(node.getAttrOrDefault("shape", AttrValue.getDefaultInstance()).getShape()),
          trainable));
    }
    result.sort(Comparator.comparing(ModelVariable::name));
    return List.copyOf(result);
  }

  /** SavedVariable names to their trainable flags, in object-graph order (names may repeat). */
  private static Map<String, List<Boolean>> objectGraphFlags(SavedObjectGraph objectGraph) {
    Map<String, List<Boolean>> flags = new HashMap<>();
    for (SavedObject node : objectGraph.getNodesList()) {
      if (node.hasVariable()) {
        flags.computeIfAbsent(node.getVariable().getName(), k -> new ArrayList<>())
            .add(node.getVariable().getTrainable());
      }
    }
    return flags;
  }

  /**
   * Maps a graph variable to its SavedVariable by name. When several SavedVariables share a name
   * (two Keras metrics each with a "total"), TensorFlow created their graph ops in object-graph
   * order and made the names unique as {@code total}, {@code total_1}, …; the suffix gives the
   * occurrence. A variable the object graph does not describe counts as not trainable.
   */
  private static boolean objectGraphTrainable(Map<String, List<Boolean>> flags, String opName) {
    List<Boolean> exact = flags.get(opName);
    if (exact != null) {
      return exact.get(0);
    }
    Matcher m = UNIQUIFIED.matcher(opName);
    if (m.matches()) {
      List<Boolean> base = flags.get(m.group(1));
      int occurrence = Integer.parseInt(m.group(2));
      if (base != null && occurrence < base.size()) {
        return base.get(occurrence);
      }
    }
    return false;
  }

  private static Set<String> trainableCollection(CollectionDef collection) {
    Set<String> names = new TreeSet<>();
    for (var bytes : collection.getBytesList().getValueList()) {
      try {
        String name = VariableDef.parseFrom(bytes).getVariableName();
        int colon = name.lastIndexOf(':');
        names.add(colon < 0 ? name : name.substring(0, colon));
      } catch (IOException e) {
        // Not a VariableDef: the collection holds something else and says nothing about this.
      }
    }
    return names;
  }

  private static List<Long> shape(TensorShapeProto shape) {
    List<Long> dims = new ArrayList<>();
    if (shape.getUnknownRank()) {
      dims.add(-1L);
      return dims;
    }
    shape.getDimList().forEach(d -> dims.add(d.getSize()));
    return dims;
  }

  /** Copies every entry of {@code from} except the files the export writes anew. */
  private static void copyOtherFiles(Path from, Path to) throws IOException {
    try (Stream<Path> entries = Files.list(from)) {
      for (Path entry : entries.toList()) {
        String name = entry.getFileName().toString();
        if (name.equals(SAVED_MODEL_PB) || name.equals(SAVED_MODEL_PBTXT)
            || name.equals(FINGERPRINT_PB) || name.equals(VARIABLES_DIR)) {
          continue;
        }
        copyRecursively(entry, to.resolve(name));
      }
    }
  }

  private static void copyRecursively(Path source, Path target) throws IOException {
    // Links are followed (an asset may be one); ModelDirectory has refused loops already.
    try (Stream<Path> paths = Files.walk(source, FileVisitOption.FOLLOW_LINKS)) {
      for (Path path : paths.toList()) {
        Path destination = target.resolve(source.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(destination);
        } else {
          // From a stream, so the copy gets fresh permissions (inputs are often read-only).
          try (var in = Files.newInputStream(path)) {
            Files.copy(in, destination);
          }
        }
      }
    }
  }

  private static String firstLine(String message) {
    if (message == null || message.isBlank()) {
      return "(no message)";
    }
    String trimmed = message.strip();
    int newline = trimmed.indexOf('\n');
    return newline < 0 ? trimmed : trimmed.substring(0, newline).strip();
  }
}
