package io.github.tfl1l2.savedmodel;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.op.train.Restore;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedUserObject;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.ObjectReference;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.SerializedTensor;
import org.tensorflow.proto.VersionDef;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * Builds, from the Keras 3 {@code model.export()} archive {@code keras3_export_multihead_mlp}, a
 * SavedModel laid out as Keras 3's {@code tf.saved_model.save(model, dir)} lays one out: the
 * MetaGraphDef's own restore op ({@code saver_def}) no longer initializes the handles that the
 * serving functions read, and the object graph (and the checkpoint's {@code
 * _CHECKPOINTABLE_OBJECT_GRAPH}) reach the weights only under {@code
 * optimizer/_trainable_variables/N}.
 *
 * <p>What is rewritten:
 *
 * <ul>
 *   <li>the object graph's root child {@code variables} becomes {@code optimizer} (a new user
 *       object appended at the end) whose child {@code _trainable_variables} is the former list;
 *       the checkpoint's object graph (the {@code Const} that the save function writes, and the one
 *       in the checkpoint) gets the same path and the keys {@code
 *       optimizer/_trainable_variables/N/.ATTRIBUTES/VARIABLE_VALUE};
 *   <li>the key constants of the traced save and restore functions are renamed alike;
 *   <li>the save and restore calls no longer take the handles the serving functions read: each is
 *       replaced by a new {@code VarHandleOp} {@code saver_copy/<name>} of the same dtype and shape
 *       (Keras 3's saver writes its variable wrappers' copies instead);
 *   <li>the checkpoint is written anew with the renamed keys and the same values.
 * </ul>
 */
public final class Keras3SavedModelFixture {
  /** The name of the shared archive the fixture is built from. */
  public static final String SOURCE = "keras3_export_multihead_mlp";

  private static final String OLD_PREFIX = "variables/";
  private static final String NEW_PREFIX = "optimizer/_trainable_variables/";
  private static final String OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH";

  private Keras3SavedModelFixture() {}

  /**
   * Writes the fixture into {@code target} (created; its parent must exist), from the shared
   * archive; skips the calling test where {@code ../shared} is absent.
   *
   * @return {@code target}
   */
  public static Path create(Path target) throws IOException {
    return create(target, UnaryOperator.identity());
  }

  /**
   * Writes the fixture as {@link #create(Path)} does, with the object graph stored in the
   * checkpoint (not the one the save function writes) passed through {@code checkpointEdit}: to
   * break the object-graph route alone while the model's restore op still runs.
   *
   * @return {@code target}
   */
  public static Path create(Path target, UnaryOperator<TrackableObjectGraph> checkpointEdit)
      throws IOException {
    Path source = TestModels.external(SOURCE);
    SavedModel savedModel =
        SavedModel.parseFrom(Files.readAllBytes(source.resolve("saved_model.pb")));
    MetaGraphDef metaGraph = savedModel.getMetaGraphs(0);
    TrackableObjectGraph checkpointGraph = readObjectGraph(source);

    MetaGraphDef.Builder meta = metaGraph.toBuilder();
    meta.setObjectGraphDef(renameSaved(metaGraph.getObjectGraphDef()));
    TrackableObjectGraph renamedCheckpointGraph = renameCheckpoint(checkpointGraph);
    rewireSaver(meta, renamedCheckpointGraph);

    Files.createDirectories(target.resolve("variables"));
    writeCheckpoint(
        source,
        target,
        metaGraph.getObjectGraphDef(),
        checkpointGraph,
        checkpointEdit.apply(renamedCheckpointGraph));
    Files.write(
        target.resolve("saved_model.pb"),
        savedModel.toBuilder().setMetaGraphs(0, meta).build().toByteArray());
    return target;
  }

  /**
   * The SavedObjectGraph with {@code optimizer/_trainable_variables} in place of {@code variables}.
   */
  private static SavedObjectGraph renameSaved(SavedObjectGraph graph) {
    SavedObjectGraph.Builder builder = graph.toBuilder();
    int optimizer = builder.getNodesCount();
    int list = replaceRootChild(builder.getNodesBuilder(0).getChildrenBuilderList(), optimizer);
    builder.addNodes(
        SavedObject.newBuilder()
            .setUserObject(
                SavedUserObject.newBuilder()
                    .setIdentifier("_generic_user_object")
                    .setVersion(VersionDef.newBuilder().setProducer(1).setMinConsumer(1)))
            .addChildren(
                ObjectReference.newBuilder().setLocalName("_trainable_variables").setNodeId(list)));
    return builder.build();
  }

  /** The same rename in the checkpoint's object graph, and its keys renamed. */
  private static TrackableObjectGraph renameCheckpoint(TrackableObjectGraph graph) {
    TrackableObjectGraph.Builder builder = graph.toBuilder();
    int optimizer = builder.getNodesCount();
    int list = replaceRootChild(builder.getNodesBuilder(0).getChildrenBuilderList(), optimizer);
    builder.addNodes(
        TrackableObject.newBuilder()
            .addChildren(
                ObjectReference.newBuilder().setLocalName("_trainable_variables").setNodeId(list)));
    for (TrackableObject.Builder node : builder.getNodesBuilderList()) {
      for (SerializedTensor.Builder attribute : node.getAttributesBuilderList()) {
        attribute.setCheckpointKey(renameKey(attribute.getCheckpointKey()));
      }
    }
    return builder.build();
  }

  /** Points the root's child {@code variables}, renamed {@code optimizer}, at {@code optimizer}. */
  private static int replaceRootChild(List<ObjectReference.Builder> children, int optimizer) {
    for (ObjectReference.Builder child : children) {
      if (child.getLocalName().equals("variables")) {
        int list = child.getNodeId();
        child.setLocalName("optimizer").setNodeId(optimizer);
        return list;
      }
    }
    throw new IllegalStateException("the root has no child named variables");
  }

  private static String renameKey(String key) {
    return key.startsWith(OLD_PREFIX) ? NEW_PREFIX + key.substring(OLD_PREFIX.length()) : key;
  }

  /**
   * Renames the key constants of the saver's functions, gives the saver copies of the handles the
   * serving functions read, and replaces the checkpoint object graph the save function writes.
   */
  private static void rewireSaver(MetaGraphDef.Builder meta, TrackableObjectGraph checkpointGraph) {
    String saveCall = meta.getSaverDef().getSaveTensorName().replaceAll(":.*", "");
    String restoreCall = meta.getSaverDef().getRestoreOpName();
    Set<String> saverFunctions = new HashSet<>();
    Set<String> servingHandles = new HashSet<>();
    Map<String, NodeDef> nodes = new HashMap<>();
    for (NodeDef node : meta.getGraphDef().getNodeList()) {
      nodes.put(node.getName(), node);
      if (node.getOp().equals("StatefulPartitionedCall")) {
        if (node.getName().equals(saveCall) || node.getName().equals(restoreCall)) {
          saverFunctions.add(node.getAttrOrThrow("f").getFunc().getName());
        } else {
          for (String input : node.getInputList()) {
            NodeDef handle = nodes.get(input);
            if (handle != null && handle.getOp().equals("VarHandleOp")) {
              servingHandles.add(input);
            }
          }
        }
      }
    }
    List<NodeDef> copies = new ArrayList<>();
    for (NodeDef.Builder node : meta.getGraphDefBuilder().getNodeBuilderList()) {
      if (node.getName().equals(saveCall) || node.getName().equals(restoreCall)) {
        for (int i = 0; i < node.getInputCount(); i++) {
          String input = node.getInput(i);
          if (servingHandles.contains(input)) {
            String copy = "saver_copy/" + input;
            node.setInput(i, copy);
            copies.add(
                nodes.get(input).toBuilder()
                    .setName(copy)
                    .putAttr(
                        "shared_name",
                        AttrValue.newBuilder().setS(ByteString.copyFromUtf8(copy)).build())
                    .build());
          }
        }
        if (node.getName().equals(saveCall)) {
          String graphConst = node.getInput(node.getInputCount() - 1);
          replaceObjectGraphConst(meta, graphConst, checkpointGraph);
        }
      }
    }
    Set<String> added = new HashSet<>();
    for (NodeDef copy : copies) {
      if (added.add(copy.getName())) {
        meta.getGraphDefBuilder().addNode(copy);
      }
    }
    for (FunctionDef.Builder function :
        meta.getGraphDefBuilder().getLibraryBuilder().getFunctionBuilderList()) {
      if (!saverFunctions.contains(function.getSignature().getName())) {
        continue;
      }
      for (NodeDef.Builder node : function.getNodeDefBuilderList()) {
        if (!node.getOp().equals("Const")) {
          continue;
        }
        TensorProto value = node.getAttrOrThrow("value").getTensor();
        if (value.getStringValCount() == 0) {
          continue;
        }
        TensorProto.Builder renamed = value.toBuilder().clearStringVal();
        for (ByteString key : value.getStringValList()) {
          renamed.addStringVal(ByteString.copyFromUtf8(renameKey(key.toStringUtf8())));
        }
        node.putAttr("value", AttrValue.newBuilder().setTensor(renamed).build());
      }
    }
  }

  private static void replaceObjectGraphConst(
      MetaGraphDef.Builder meta, String name, TrackableObjectGraph checkpointGraph) {
    for (NodeDef.Builder node : meta.getGraphDefBuilder().getNodeBuilderList()) {
      if (node.getName().equals(name)) {
        TensorProto value = node.getAttrOrThrow("value").getTensor();
        if (value.getStringValCount() != 1) {
          throw new IllegalStateException(name + " is not the checkpoint object graph");
        }
        node.putAttr(
            "value",
            AttrValue.newBuilder()
                .setTensor(
                    value.toBuilder().setStringVal(0, checkpointGraph.toByteString()).build())
                .build());
        return;
      }
    }
    throw new IllegalStateException("no node " + name);
  }

  private static TrackableObjectGraph readObjectGraph(Path model) throws IOException {
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Restore restore =
          tf.train.restore(
              tf.constant(model.resolve("variables/variables").toString()),
              tf.constant(NdArrays.vectorOfObjects(OBJECT_GRAPH_KEY)),
              tf.constant(NdArrays.vectorOfObjects("")),
              List.<Class<? extends TType>>of(TString.class));
      try (Result result = session.runner().fetch(restore.tensors().get(0)).run()) {
        return TrackableObjectGraph.parseFrom(((TString) result.get(0)).asBytes().getObject());
      }
    }
  }

  /**
   * Copies every variable value of the source checkpoint under its renamed key, with the renamed
   * object graph. The two object graphs of the source archive share node ids (checked by name).
   */
  private static void writeCheckpoint(
      Path source,
      Path target,
      SavedObjectGraph saved,
      TrackableObjectGraph original,
      TrackableObjectGraph renamed) {
    List<String> keys = new ArrayList<>();
    List<String> newKeys = new ArrayList<>();
    List<Class<? extends TType>> types = new ArrayList<>();
    for (int id = 0; id < original.getNodesCount(); id++) {
      for (SerializedTensor attribute : original.getNodes(id).getAttributesList()) {
        SavedObject node = saved.getNodes(id);
        if (!node.hasVariable() || !node.getVariable().getName().equals(attribute.getFullName())) {
          throw new IllegalStateException(
              "checkpoint node " + id + " is not object-graph node " + id);
        }
        keys.add(attribute.getCheckpointKey());
        newKeys.add(renameKey(attribute.getCheckpointKey()));
        types.add(TensorTypeRegistry.find(node.getVariable().getDtype()).type());
      }
    }
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Restore restore =
          tf.train.restore(
              tf.constant(source.resolve("variables/variables").toString()),
              tf.constant(NdArrays.vectorOfObjects(keys.toArray(String[]::new))),
              tf.constant(NdArrays.vectorOfObjects(blanks(keys.size()))),
              types);
      List<Operand<?>> tensors = new ArrayList<>(restore.tensors());
      newKeys.add(OBJECT_GRAPH_KEY);
      try (TString graphBytes =
          TString.tensorOfBytes(NdArrays.scalarOfObject(renamed.toByteArray()))) {
        tensors.add(tf.constantOf(graphBytes));
      }
      session
          .runner()
          .addTarget(
              tf.train.save(
                  tf.constant(target.resolve("variables/variables").toString()),
                  tf.constant(NdArrays.vectorOfObjects(newKeys.toArray(String[]::new))),
                  tf.constant(NdArrays.vectorOfObjects(blanks(newKeys.size()))),
                  tensors))
          .run()
          .close();
    }
  }

  private static String[] blanks(int count) {
    String[] blanks = new String[count];
    java.util.Arrays.fill(blanks, "");
    return blanks;
  }
}
