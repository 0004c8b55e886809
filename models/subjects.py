"""bioRxiv's and medRxiv's subject collections: the categories a reader of those servers may
pick, as Cold Spring Harbor's API names them in a record's `category` (lower case, spaces).
See https://api.biorxiv.org/."""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(line.strip() for line in text.strip().splitlines())


BIORXIV_SUBJECTS = _words("""
    animal behavior and cognition
    biochemistry
    bioengineering
    bioinformatics
    biophysics
    cancer biology
    cell biology
    clinical trials
    developmental biology
    ecology
    epidemiology
    evolutionary biology
    genetics
    genomics
    immunology
    microbiology
    molecular biology
    neuroscience
    paleontology
    pathology
    pharmacology and toxicology
    physiology
    plant biology
    scientific communication and education
    synthetic biology
    systems biology
    zoology
""")
MEDRXIV_SUBJECTS = _words("""
    addiction medicine
    allergy and immunology
    anesthesia
    cardiovascular medicine
    dentistry and oral medicine
    dermatology
    emergency medicine
    endocrinology
    epidemiology
    forensic medicine
    gastroenterology
    genetic and genomic medicine
    geriatric medicine
    health economics
    health informatics
    health policy
    health systems and quality improvement
    hematology
    hiv aids
    infectious diseases
    intensive care and critical care medicine
    medical education
    medical ethics
    nephrology
    neurology
    nursing
    nutrition
    obstetrics and gynecology
    occupational and environmental health
    oncology
    ophthalmology
    orthopedics
    otolaryngology
    pain medicine
    palliative medicine
    pathology
    pediatrics
    pharmacology and therapeutics
    primary care research
    psychiatry and clinical psychology
    public and global health
    radiology and imaging
    rehabilitation medicine and physical therapy
    respiratory medicine
    rheumatology
    sexual and reproductive health
    sports medicine
    surgery
    toxicology
    transplantation
    urology
""")
