package io.github.tfl1l2.savedmodel.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.savedmodel.LoadedSavedModel;
import io.github.tfl1l2.savedmodel.SavedModelException;
import io.github.tfl1l2.savedmodel.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.TensorShapeProto;

class ElementCountsTest {
  @TempDir Path temp;

  private static TensorShapeProto shape(long... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (long d : dims) {
      shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
    }
    return shape.build();
  }

  @Test
  void aCountJustBelowTwoToTheSixtyThreeFitsAndOneAboveOverflows() {
    assertFalse(ElementCounts.overflows(shape(1L << 31, 1L << 31)));
    assertFalse(ElementCounts.overflows(shape(Long.MAX_VALUE)));
    assertFalse(ElementCounts.overflows(shape(-1, 1L << 62, -1)), "unknown dims are not counted");
    assertTrue(ElementCounts.overflows(shape(1L << 32, 1L << 31)));
    assertTrue(ElementCounts.overflows(shape(2, 1L << 62)));
  }

  /** A copy of the example whose first constant's value declares {@code dims}; its name. */
  private String copyWithConstantOfShape(Path copy, long... dims) throws IOException {
    try (Stream<Path> files = Files.walk(TestModels.EXAMPLE)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Path target = copy.resolve(TestModels.EXAMPLE.relativize(file).toString());
        Files.createDirectories(target.getParent());
        Files.copy(file, target);
      }
    }
    Path pb = copy.resolve("saved_model.pb");
    SavedModel model = SavedModel.parseFrom(Files.readAllBytes(pb));
    MetaGraphDef.Builder meta = model.getMetaGraphs(0).toBuilder();
    NodeDef.Builder constant =
        meta.getGraphDefBuilder().getNodeBuilderList().stream()
            .filter(n -> n.getOp().equals("Const"))
            .findFirst()
            .orElseThrow();
    AttrValue value = constant.getAttrOrThrow("value");
    constant.putAttr(
        "value",
        value.toBuilder()
            .setTensor(value.getTensor().toBuilder().setTensorShape(shape(dims)))
            .build());
    Files.write(pb, model.toBuilder().setMetaGraphs(0, meta).build().toByteArray());
    return constant.getName();
  }

  @Test
  void aConstWhoseShapeOverflowsIsRefusedBeforeTensorFlowSeesIt() throws IOException {
    Path copy = temp.resolve("model");
    String name = copyWithConstantOfShape(copy, 4, 1L << 62);
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> LoadedSavedModel.open(copy, "serve"));
    assertEquals(
        copy
            + " is not a SavedModel TensorFlow can load safely: node "
            + name
            + " has attribute value of shape [4, "
            + (1L << 62)
            + "], whose element count overflows 64 bits",
        e.getMessage());
  }

  @Test
  void aConstDeclaringMoreThanTwoToTheThirtyOneElementsIsRefused() throws IOException {
    Path copy = temp.resolve("model");
    String name = copyWithConstantOfShape(copy, 1L << 40, 2);
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> LoadedSavedModel.open(copy, "serve"));
    assertEquals(
        copy
            + " is not a SavedModel TensorFlow can load safely: node "
            + name
            + " has attribute value of shape ["
            + (1L << 40)
            + ", 2], a tensor of more than 2^31 elements, more than a SavedModel's graph can"
            + " hold",
        e.getMessage());
  }

  @Test
  void aShapeAttributeOfManyElementsIsOnlyAShapeAndPasses() {
    MetaGraphDef meta =
        MetaGraphDef.newBuilder()
            .setGraphDef(
                org.tensorflow.proto.GraphDef.newBuilder()
                    .addNode(
                        NodeDef.newBuilder()
                            .setName("x")
                            .setOp("Placeholder")
                            .putAttr(
                                "shape",
                                AttrValue.newBuilder().setShape(shape(1L << 40, 2)).build())))
            .build();
    ElementCounts.check(Path.of("m"), meta); // no exception: a placeholder allocates nothing
  }
}
