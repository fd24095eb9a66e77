package io.nptstream.flink;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import io.nptstream.flink.model.KvCache;
import io.nptstream.flink.model.StepGraph;
import org.apache.flink.annotation.Internal;
import org.junit.jupiter.api.Test;

/** The layering: packages without cycles, and the model's internals used by the operator alone. */
class ArchitectureTest {
    private static final String ROOT = "io.nptstream.flink";
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(ROOT);

    private static final ArchRule NO_CYCLES = slices().matching(ROOT + ".(*)..").should().beFreeOfCycles();

    private static final ArchRule MODEL_INTERNALS = classes()
            .that().resideInAPackage(ROOT + ".model").and().areAnnotatedWith(Internal.class)
            .should().onlyBeAccessed().byAnyPackage(ROOT + ".model", ROOT + ".operator");

    /** The operator package is entered through NptPredict; its other classes are its own. */
    private static final ArchRule OPERATOR_ENTRY = classes()
            .that().resideInAPackage(ROOT + ".operator").and().doNotHaveSimpleName("NptPredict")
            .should().onlyBeAccessed().byAnyPackage(ROOT + ".operator");

    @Test
    void packagesHaveNoCycles() {
        NO_CYCLES.check(MAIN);
    }

    @Test
    void modelInternalsAreTheOperatorsAlone() {
        MODEL_INTERNALS.check(MAIN);
        OPERATOR_ENTRY.check(MAIN);
    }

    /** The rules can fail: a class outside the operator that reaches into the model breaks them. */
    @Test
    void aViolationIsCaught() {
        JavaClasses withIntruder = new ClassFileImporter().importClasses(Intruder.class, KvCache.class, StepGraph.class);
        assertThrows(AssertionError.class, () -> MODEL_INTERNALS.check(withIntruder));
    }

    /** Not in model or operator, yet it builds a model internal. */
    static final class Intruder {
        KvCache cache = new KvCache(1, 1, 1, 1);
    }
}
