package io.github.tfl1l2.savedmodel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedConcreteFunction;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.Struct.StructuredValue;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.ObjectReference;

/**
 * Prints a SavedModel's object graph: each node's kind, user_object identifier and metadata, its
 * children, the concrete functions of its functions with the {@code training} flag of their
 * canonicalized input signature; then the body of one function. A reading aid, not a test.
 *
 * <p>Arguments: the model directory, optionally a function name whose body to print.
 */
public final class ObjectGraphDumpMain {
  private ObjectGraphDumpMain() {}

  @SuppressWarnings("deprecation") // user_object.metadata: where older models keep layer configs
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    SavedModel model = SavedModel.parseFrom(Files.readAllBytes(dir.resolve("saved_model.pb")));
    MetaGraphDef meta = model.getMetaGraphs(0);
    SavedObjectGraph graph = meta.getObjectGraphDef();
    for (int i = 0; i < graph.getNodesCount(); i++) {
      SavedObject node = graph.getNodes(i);
      StringBuilder line = new StringBuilder("node " + i + " " + node.getKindCase());
      if (node.hasUserObject()) {
        line.append(" id=").append(node.getUserObject().getIdentifier());
        String metadata = node.getUserObject().getMetadata();
        if (!metadata.isEmpty()) {
          line.append(" metadata=").append(metadata, 0, Math.min(400, metadata.length()));
        }
      }
      if (node.hasFunction()) {
        line.append(" fns=").append(node.getFunction().getConcreteFunctionsList());
      }
      if (node.hasVariable()) {
        line.append(" var=").append(node.getVariable().getName());
        line.append(" trainable=").append(node.getVariable().getTrainable());
      }
      System.out.println(line);
      for (ObjectReference child : node.getChildrenList()) {
        System.out.println("    child " + child.getLocalName() + " -> " + child.getNodeId());
      }
    }
    for (Map.Entry<String, SavedConcreteFunction> e : graph.getConcreteFunctionsMap().entrySet()) {
      System.out.println(
          "concrete "
              + e.getKey()
              + " captures="
              + e.getValue().getBoundInputsList()
              + " training="
              + training(e.getValue().getCanonicalizedInputSignature()));
    }
    if (args.length > 1) {
      Map<String, FunctionDef> library = new HashMap<>();
      for (FunctionDef f : meta.getGraphDef().getLibrary().getFunctionList()) {
        library.put(f.getSignature().getName(), f);
      }
      print(library, library.get(args[1]), "");
    }
    if (args.length > 2) {
      SavedConcreteFunction f = graph.getConcreteFunctionsMap().get(args[1]);
      System.out.println(f);
    }
  }

  private static void print(Map<String, FunctionDef> library, FunctionDef f, String indent) {
    System.out.println(indent + "function " + f.getSignature().getName());
    System.out.println(
        indent
            + "  in "
            + f.getSignature().getInputArgList().stream()
                .map(a -> a.getName() + ":" + a.getType())
                .toList());
    System.out.println(
        indent
            + "  out "
            + f.getSignature().getOutputArgList().stream().map(a -> a.getName()).toList()
            + " ret="
            + f.getRetMap()
            + " control_ret="
            + f.getControlRetMap());
    for (NodeDef n : f.getNodeDefList()) {
      System.out.println(
          indent
              + "  "
              + n.getName()
              + " = "
              + n.getOp()
              + " "
              + n.getInputList()
              + (n.getOp().contains("Random")
                      || n.getOp().contains("Assign")
                      || n.getOp().contains("Const")
                          && n.getAttrMap().get("value").getTensor().getTensorShape().getDimCount()
                              == 0
                  ? " " + attrs(n)
                  : ""));
      String callee =
          n.getAttrMap().containsKey("f") ? n.getAttrMap().get("f").getFunc().getName() : n.getOp();
      if (library.containsKey(callee)) {
        print(library, library.get(callee), indent + "    ");
      }
    }
  }

  private static String attrs(NodeDef n) {
    StringBuilder b = new StringBuilder();
    n.getAttrMap()
        .forEach(
            (k, v) -> {
              if (!k.equals("_output_shapes")) {
                b.append(k).append('=').append(v.toString().replace('\n', ' ')).append(' ');
              }
            });
    return b.toString();
  }

  /** The bool values in a structured value, in order: the {@code training} flags. */
  private static String training(StructuredValue value) {
    StringBuilder out = new StringBuilder();
    collect(value, out);
    return out.toString();
  }

  private static void collect(StructuredValue value, StringBuilder out) {
    switch (value.getKindCase()) {
      case BOOL_VALUE -> out.append(value.getBoolValue()).append(' ');
      case TUPLE_VALUE -> value.getTupleValue().getValuesList().forEach(v -> collect(v, out));
      case LIST_VALUE -> value.getListValue().getValuesList().forEach(v -> collect(v, out));
      case DICT_VALUE ->
          value
              .getDictValue()
              .getFieldsMap()
              .forEach(
                  (k, v) -> {
                    out.append(k).append(':');
                    collect(v, out);
                  });
      case TENSOR_SPEC_VALUE ->
          out.append("spec")
              .append(
                  value.getTensorSpecValue().getShape().getDimList().stream()
                      .map(d -> d.getSize())
                      .toList())
              .append(value.getTensorSpecValue().getDtype())
              .append(' ');
      default -> {}
    }
  }
}
